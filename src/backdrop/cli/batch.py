"""Running one operation over many images: planning, a worker pool, progress and a summary.

Workers are daemon threads so that Ctrl-C never waits for an image still being processed;
every write happens under one lock that the interrupted main thread takes and keeps, so a
file is either written whole (atomically) or not at all, and cutout and mask go together.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from backdrop.client.errors import BackdropClientError
from backdrop.client.images import NotAnImage
from backdrop.common.files import write_atomically
from backdrop.errors import BackdropError

# What a folder is searched for; files named on the command line are always tried.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"})


class Processor(Protocol):
    """One operation on one image file: returns the bytes of each output, in `suffixes` order."""

    suffixes: tuple[str, ...]

    def process(self, source: Path) -> tuple[bytes, ...]: ...


@dataclass(frozen=True)
class Job:
    source: Path
    outputs: tuple[Path, ...]


@dataclass
class Summary:
    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    interrupted: bool = False
    credits_used: float | None = None


def find_images(inputs: Iterable[Path], output_dir: Path) -> list[tuple[Path, Path]]:
    """(source, output stem) pairs: files as given, folders searched recursively.

    A folder's images keep their sub-folder under `output_dir`, so equal names do not clash;
    anything already inside `output_dir` is left out, so a re-run does not eat its outputs.
    """
    out = output_dir.resolve()
    pairs: list[tuple[Path, Path]] = []
    for given in inputs:
        if not given.is_dir():
            pairs.append((given, output_dir / given.stem))
            continue
        for path in sorted(given.rglob("*")):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            if path.resolve().is_relative_to(out) or any(
                part.startswith(".") for part in path.relative_to(given).parts
            ):
                continue
            relative = path.relative_to(given)
            pairs.append((path, output_dir / relative.parent / relative.stem))
    return pairs


def plan(
    pairs: list[tuple[Path, Path]], suffixes: tuple[str, ...], *, overwrite: bool
) -> tuple[list[Job], Summary]:
    """Jobs to run, and a summary that already holds the skipped and clashing inputs."""
    summary = Summary()
    jobs: list[Job] = []
    claimed: dict[Path, Path] = {}
    for source, stem in pairs:
        outputs = tuple(stem.with_name(stem.name + suffix) for suffix in suffixes)
        first = claimed.setdefault(outputs[0], source)
        if first != source:
            summary.failed.append((source, f"its output {outputs[0]} is also {first}'s"))
        elif not overwrite and all(path.exists() for path in outputs):
            summary.skipped.append(source)
        else:
            jobs.append(Job(source, outputs))
    return jobs, summary


class RateColumn(ProgressColumn):
    """Images per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.2f} img/s" if speed else "-- img/s", style="progress.data.speed")


@dataclass(frozen=True)
class _Outcome:
    job: Job
    error: str | None


def describe(error: BaseException) -> str:
    """A failure in the user's words."""
    if isinstance(error, BackdropError):
        return error.detail
    if isinstance(error, BackdropClientError | NotAnImage):
        return str(error)  # already in words; its class name would only add noise
    if isinstance(error, OSError):
        if error.strerror and error.filename:
            return f"{error.strerror}: {error.filename}"
        return str(error)
    return f"{type(error).__name__}: {error}"


class _Pool:
    def __init__(self, processor: Processor, jobs: list[Job], workers: int) -> None:
        self.processor = processor
        self.todo: queue.Queue[Job] = queue.Queue()
        self.outcomes: queue.Queue[_Outcome] = queue.Queue()
        self.cancelled = threading.Event()
        self.write_lock = threading.Lock()
        for job in jobs:
            self.todo.put(job)
        self.threads = [
            threading.Thread(target=self._work, name=f"batch-{n}", daemon=True)
            for n in range(max(1, min(workers, len(jobs))))
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        while not self.cancelled.is_set():
            try:
                job = self.todo.get_nowait()
            except queue.Empty:
                return
            try:
                data = self.processor.process(job.source)
                with self.write_lock:
                    if self.cancelled.is_set():
                        return
                    for path, blob in zip(job.outputs, data, strict=True):
                        write_atomically(path, blob)
            except Exception as error:  # one bad image must not stop the batch
                self.outcomes.put(_Outcome(job, describe(error)))
            else:
                self.outcomes.put(_Outcome(job, None))

    def stop(self) -> None:
        """No new work and no new writes; waits only for a write in progress."""
        self.cancelled.set()
        # Taken for good: a worker that finishes later sees `cancelled` and writes nothing.
        self.write_lock.acquire()


def run(
    processor: Processor, jobs: list[Job], summary: Summary, *, workers: int, console: Console
) -> Summary:
    """Run `jobs` on `workers` threads with a progress bar; Ctrl-C sets `summary.interrupted`."""
    if not jobs:
        return summary
    pool = _Pool(processor, jobs, workers)
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("processing", total=len(jobs))
        pool.start()
        try:
            for _ in jobs:
                outcome = _next_outcome(pool)
                if outcome.error is None:
                    summary.done.append(outcome.job.source)
                    progress.console.print(
                        f"[green]done[/green] {outcome.job.source} -> {outcome.job.outputs[0]}"
                    )
                else:
                    summary.failed.append((outcome.job.source, outcome.error))
                    progress.console.print(
                        f"[red]failed[/red] {outcome.job.source}: {outcome.error}"
                    )
                progress.advance(task)
        except KeyboardInterrupt:
            pool.stop()
            summary.interrupted = True
    return summary


def _next_outcome(pool: _Pool) -> _Outcome:
    # A short timeout keeps the main thread responsive to Ctrl-C.
    while True:
        try:
            return pool.outcomes.get(timeout=0.2)
        except queue.Empty:
            continue


def print_summary(summary: Summary, console: Console) -> None:
    """Done / skipped / failed (with reasons) / credits used."""
    parts = [f"[green]{len(summary.done)} done[/green]"]
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped (outputs exist; --overwrite to redo)")
    parts.append(f"[red]{len(summary.failed)} failed[/red]" if summary.failed else "0 failed")
    if summary.credits_used is not None:
        parts.append(f"{summary.credits_used:g} credits used")
    if summary.interrupted:
        parts.append("[yellow]interrupted[/yellow]")
    console.print(", ".join(parts))
    for source, reason in summary.failed:
        console.print(f"  [red]x[/red] {source}: {reason}")
