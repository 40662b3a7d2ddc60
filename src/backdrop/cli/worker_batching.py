"""`backdrop worker` as a batching worker (orders/batch_runner.py), and its loud start."""

from __future__ import annotations

import typer
from rich.console import Console

from backdrop.engines.gpu import CUDA_PROVIDER, CudaUnavailable, check_cuda, onnxruntime_providers
from backdrop.errors import BackdropError
from backdrop.settings import Settings


def batching_worker(
    settings: Settings,
    batch: int | None,
    max_wait_ms: float,
    processes: int | None,
    hostname: str | None,
    console: Console,
) -> bool:
    """Run the batching worker until it stops; False when the per-order worker should run
    instead (a CPU, batch 1). CUDA asked for without a usable GPU: exit 1, one line why."""
    from backdrop.queue.celery_queue import celery_app, register_task, run_worker
    from backdrop.serving.batch_worker import (
        BatchOptions,
        build_batch_runner,
        placement_line,
        threads_for,
    )
    from backdrop.serving.node import build_worker

    device = settings.inference.device
    try:
        if device == "cuda":
            check_cuda()  # before the models load: the cause is said in a second, not a minute
        elif (
            device == "auto"
            and (batch is None or batch == 1)
            and CUDA_PROVIDER not in onnxruntime_providers()
        ):
            return False
    except CudaUnavailable as error:
        console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(code=1) from None
    try:
        node = build_worker(settings)
        node.start()
        runner = build_batch_runner(node, BatchOptions(batch, max_wait_ms, processes))
    except CudaUnavailable as error:
        console.print(f"[red]error:[/red] {error}", highlight=False)
        raise typer.Exit(code=1) from None
    except BackdropError as error:
        console.print(f"[red]error:[/red] {error.detail}")
        raise typer.Exit(code=1) from None
    console.print(placement_line(runner), highlight=False)
    app = celery_app(settings.queue)
    register_task(app, runner.run)
    runner.start()
    config = runner.config
    try:
        run_worker(
            app,
            settings.queue.name,
            threads_for(config.batch, runner.processes, config.other_slots),
            hostname,
            # SIGTERM: stop claiming, finish the batch in the model, hand the rest back.
            on_stop=runner.drain,
        )
    finally:
        runner.stop()
        node.stop()
    return True
