"""Builds the batching worker of `backdrop worker --batch` on a `WorkerNode`: the batch graph
on its device, the stage processes and the runner (orders/batch_runner.py).

Placement is loud: `placement_line` is printed at start, and CUDA asked for without a usable
GPU raises CudaUnavailable (engines/gpu.py) instead of running on the CPU.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from backdrop.engines.batch_model import BatchModel, Recipe, wants_cuda
from backdrop.engines.cpu import usable_cores
from backdrop.engines.gpu import onnxruntime_providers
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.orders import batch_stages
from backdrop.orders.batch_runner import BatchConfig, BatchRunner
from backdrop.orders.lifecycle import Lifecycle
from backdrop.serving.node import WorkerNode
from backdrop.serving.orphans import exit_when_orphaned

# Orders per model call when none is asked for: on a GPU, 8 (bench/CLUSTER.md: ISNet at
# 1024² runs 3.5x the images/s of batch 1 there); on a CPU, 1 (a batch only adds latency).
DEFAULT_GPU_BATCH = 8


@dataclass(frozen=True)
class BatchOptions:
    batch: int | None  # None: DEFAULT_GPU_BATCH on a GPU, 1 on a CPU
    max_wait_ms: float
    processes: int | None  # None: the usable cores less one for the model thread, at least 1


def default_processes() -> int:
    return max(1, usable_cores() - 1)


def threads_for(batch: int, processes: int, other_slots: int) -> int:
    """Worker threads (orders in flight): a batch in the model, one filling behind it, one
    being finished, and every stage process busy; plus the non-batched slots."""
    return 3 * batch + processes + other_slots


def build_batch_runner(node: WorkerNode, options: BatchOptions) -> BatchRunner:
    settings = node.settings
    segmenter = node.segmenters.get()
    if not isinstance(segmenter, OnnxSegmenter) or segmenter.model_path is None:
        raise RuntimeError(f"{segmenter.model_id} is not an ONNX model file: it cannot batch")
    recipe = Recipe.of(segmenter)
    cuda = wants_cuda(settings.inference, onnxruntime_providers)
    model = BatchModel.open(segmenter.model_path, recipe, settings.inference, cuda=cuda)
    batch = options.batch or (DEFAULT_GPU_BATCH if cuda else 1)
    processes = options.processes or default_processes()
    # Spawned, not forked: the parent holds onnxruntime's threads (and a CUDA context).
    # Each ends with this process, even one killed with SIGKILL (serving/orphans.py).
    stages = ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_when_orphaned,
        initargs=(os.getpid(),),
    )
    for warm in [stages.submit(batch_stages.warm) for _ in range(processes)]:
        warm.result()
    config = BatchConfig(
        batch=batch,
        max_wait_seconds=options.max_wait_ms / 1000,
        max_pixels=settings.limits.max_pixels,
        direct_uploads=node.store.direct_uploads,
        model_id=segmenter.model_id,
    )
    runner = BatchRunner(
        node.runner,
        Lifecycle(node.db, settings),
        model,
        recipe,
        stages,
        config,
        lease_seconds=settings.queue.lease_seconds,
        on_broken=_stop_this_process,
    )
    runner.processes = processes
    return runner


def _stop_this_process() -> None:
    """A warm shutdown: the worker finishes what it runs and exits; its supervisor restarts
    it with a new stage pool."""
    os.kill(os.getpid(), signal.SIGTERM)


def placement_line(runner: BatchRunner) -> str:
    config = runner.config
    return (
        f"batching worker: {runner.placement.describe(config.batch)}, max wait "
        f"{config.max_wait_seconds * 1000:g} ms, {runner.processes} pipeline processes, "
        f"model {config.model_id}"
    )
