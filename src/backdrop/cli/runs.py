"""`backdrop remove` / `backdrop generate` over many files: choose local or remote, run, report."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from backdrop.cli import batch
from backdrop.cli.operations import (
    GENERATE_SUFFIXES,
    GenerateWish,
    LocalGenerate,
    LocalRemove,
    RemoteGenerate,
    RemoteRemove,
    RemoveWish,
    remove_suffixes,
)
from backdrop.client.images import is_image_background
from backdrop.settings import Settings

if TYPE_CHECKING:
    from backdrop.client import Client
    from backdrop.engines.segmentation import Segmenter

# The exit status of a run stopped by Ctrl-C, as shells report SIGINT.
INTERRUPTED = 130


@dataclass(frozen=True)
class BatchOptions:
    """What every batch command shares."""

    inputs: list[Path]
    output_dir: Path
    jobs: int
    overwrite: bool
    server: str | None
    api_key: str | None


def print_segmentation_runtime(segmenter: Segmenter, threads: int, console: Console) -> None:
    """Load the model now and say where it runs (OpenVINO bf16, onnxruntime CUDA...) and why."""
    from backdrop.engines.inference import describe
    from backdrop.engines.segmentation import OnnxSegmenter

    if isinstance(segmenter, OnnxSegmenter):
        where = describe(segmenter.load())
        choice = segmenter.choice
        graph = f" ({choice.graph} graph)" if choice and choice.graph != "own" else ""
        console.print(f"segmentation: {segmenter.model_id}{graph} on {where}, {threads} threads")
        if choice is not None:
            console.print(f"  why: {choice.reason}")


def remove(
    settings: Settings,
    options: BatchOptions,
    background: str | None,
    model: str | None,
    console: Console,
    wish: RemoveWish | None = None,
) -> int:
    """Cut out every image; returns the exit status.

    `model` None means the server's default remotely and the configured one locally.
    """
    wish = wish or RemoveWish(model=model)
    pairs = batch.find_images(options.inputs, options.output_dir)
    jobs, summary = batch.plan(pairs, remove_suffixes(wish.output), overwrite=options.overwrite)
    if options.server:
        with _client(options) as client:
            choice = background or "transparent"
            if jobs and is_image_background(choice):
                choice = client.upload(Path(choice))  # once, not once per image
            remote = RemoteRemove(client, choice, wish, _notifier(console))
            return _run_remote(client, remote, jobs, summary, options, console)
    from backdrop.cli.local_background import parse_background
    from backdrop.engines import models_file, placement
    from backdrop.engines.inference import model_threads

    segmenter = placement.create_segmenter(
        model or settings.segmentation_model,
        models_dir=settings.models_dir,
        inference=settings.inference,
        catalog=models_file.load_catalog(settings.models_dir, settings.models_config),
    )
    if jobs:
        print_segmentation_runtime(segmenter, model_threads(settings.inference), console)
    local = LocalRemove(
        segmenter,
        parse_background(background, settings.limits.max_pixels),
        settings.limits.max_pixels,
        wish.output,
    )
    return _finish(batch.run(local, jobs, summary, workers=options.jobs, console=console), console)


def generate(
    settings: Settings,
    options: BatchOptions,
    wish: GenerateWish,
    model: str,
    console: Console,
) -> int:
    """Put every image's subject on a generated background; returns the exit status."""
    pairs = batch.find_images(options.inputs, options.output_dir)
    jobs, summary = batch.plan(pairs, GENERATE_SUFFIXES, overwrite=options.overwrite)
    if options.server:
        with _client(options) as client:
            return _run_remote(
                client,
                RemoteGenerate(client, wish, _notifier(console)),
                jobs,
                summary,
                options,
                console,
            )
    from backdrop.engines import models_file, placement
    from backdrop.engines.generators import Generators

    local = LocalGenerate(
        placement.create_segmenter(
            model,
            models_dir=settings.models_dir,
            inference=settings.inference,
            catalog=models_file.load_catalog(settings.models_dir, settings.models_config),
        ),
        Generators(settings.generation).get(wish.engine),
        wish,
        settings.limits.max_pixels,
    )
    return _finish(batch.run(local, jobs, summary, workers=options.jobs, console=console), console)


def _notifier(console: Console) -> Callable[[str], None]:
    """A line per remark on one image, above the progress bar."""

    def notify(message: str) -> None:
        console.print(f"[yellow]note:[/yellow] {message}", highlight=False)

    return notify


def _client(options: BatchOptions) -> AbstractContextManager[Client]:
    if not options.api_key:
        raise ValueError("--server needs --api-key (or BACKDROP_API_KEY)")
    assert options.server is not None
    from backdrop.client import Client

    return Client(options.server, api_key=options.api_key)


def _run_remote(
    client: Client,
    processor: batch.Processor,
    jobs: list[batch.Job],
    summary: batch.Summary,
    options: BatchOptions,
    console: Console,
) -> int:
    before = client.credits() if jobs else None
    batch.run(processor, jobs, summary, workers=options.jobs, console=console)
    if before is not None and not summary.interrupted:
        summary.credits_used = round(before - client.credits(), 4)
    return _finish(summary, console)


def _finish(summary: batch.Summary, console: Console) -> int:
    batch.print_summary(summary, console)
    if summary.interrupted:
        return INTERRUPTED
    return 1 if summary.failed else 0
