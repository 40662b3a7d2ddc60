"""The batching worker: orders claimed one by one, prepared and finished in processes, and
sent through the model B at a time.

Each delivered order id is run by `run(order_id)` in its own thread (a Celery worker thread:
the message is acknowledged when `run` returns, so a worker killed mid-batch gives every
message of the batch back to the broker). The order's life in that thread:

    claim -> read bytes -> [stage process] decode + resize -> ready queue
          -> [model thread] one model call for up to B ready orders (waiting at most D ms
             for the batch to fill once the first is there)
          -> [stage process] alpha, refinement, foreground, compose, encode
          -> store results -> complete (charge) or fail (uncharged)

Bounds (backpressure): the orders in flight are the threads the broker feeds (`concurrency`,
~3B); the ready queue holds at most 2B; stage work waits for a free process. A slow encoder
therefore keeps threads busy, the broker stops delivering, and claiming slows; memory is that
of `concurrency` orders at most.

One lease-renewal thread renews every held order every third of the lease, whatever stage
it is in. An image that cannot be decoded fails its own order before it reaches a batch; a
model call that fails is retried picture by picture, so a poisonous input fails only itself.

Orders that are not default-model removals (generation orders, another model) are not
batched: they run whole, like the per-order worker runs them, in at most `other_slots`
threads at a time, on their own engines, beside the batches; a delivery that finds the slots
taken waits a little and is handed back to the broker. Neither kind holds the other's place.

Drain (`drain()`): claim nothing more; the batch in the model finishes and its orders are
completed; orders claimed but not yet in a batch have their lease released (not counted as an
attempt) and `run` returns False, which hands their message back to the broker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from backdrop.engines.batch_model import BatchModel, Pixels, Recipe
from backdrop.engines.gpu import gpu_memory_used
from backdrop.errors import BackdropError
from backdrop.observability.metrics import (
    BATCH_MODEL_TIME,
    BATCH_SIZE,
    GPU_MEMORY,
    STAGE_DEPTH,
    STAGE_TIME,
)
from backdrop.orders import batch_stages
from backdrop.orders.lifecycle import Job, Lifecycle
from backdrop.orders.params import RemovalParams
from backdrop.orders.runner import OrderRunner, Output, Outputs

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a non-batched order waits for a free slot before its message goes back.
_OTHER_WAIT_SECONDS = 2.0


class HandedBack(Exception):
    """The worker is draining: the order was given back unstarted."""


@dataclass
class _Ticket:
    """One order's place in the ready queue, and the model's answer for it."""

    pixels: Pixels
    scale: float
    done: threading.Event = field(default_factory=threading.Event)
    prediction: Any = None
    error: BaseException | None = None

    def resolve(self, prediction: Any = None, error: BaseException | None = None) -> None:
        self.prediction, self.error = prediction, error
        self.done.set()


@dataclass(frozen=True)
class BatchConfig:
    batch: int
    max_wait_seconds: float
    max_pixels: int
    # Whether input bytes went straight to a bucket unseen (then decoded with `complete`).
    direct_uploads: bool
    model_id: str
    other_slots: int = 1


class BatchRunner:
    """Runs removal orders in batches; see the module's docstring."""

    def __init__(
        self,
        runner: OrderRunner,
        lifecycle: Lifecycle,
        model: BatchModel,
        recipe: Recipe,
        stages: Executor,
        config: BatchConfig,
        *,
        lease_seconds: float,
        on_broken: Callable[[], None] | None = None,
    ) -> None:
        self._runner = runner
        # Called once when a stage process died (killed for memory, a crash in a codec):
        # the pool is then unusable, so the worker drains and `on_broken` ends the process
        # (the CLI sends itself SIGTERM), rather than failing every order after it.
        self._on_broken = on_broken
        self._lifecycle = lifecycle
        self._model = model
        self._recipe = recipe
        self._stages = stages
        self.config = config
        self._lease_seconds = lease_seconds
        self._ready: queue.Queue[_Ticket] = queue.Queue(maxsize=2 * config.batch)
        self._held: dict[str, Job] = {}
        self._held_lock = threading.Lock()
        self._other = threading.BoundedSemaphore(config.other_slots)
        self._closing = threading.Event()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._depth = {"prepare": 0, "ready": 0, "finish": 0}
        self._depth_lock = threading.Lock()
        # How many stage processes the executor has (for the start line).
        self.processes = 0

    @property
    def placement(self) -> Any:
        """Where the model runs (engines/batch_model.Placement)."""
        return self._model.placement

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for name, target in (("batch-model", self._collect), ("batch-leases", self._renew)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def drain(self) -> None:
        """Claim nothing more; finish the batch in the model; hand back the rest (above)."""
        self._closing.set()

    def stop(self, timeout: float = 30.0) -> None:
        self.drain()
        self._stopped.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        # Nothing waits for a model that no longer runs.
        self._hand_back_ready()
        self._stages.shutdown(wait=True, cancel_futures=True)

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    # -- one order -------------------------------------------------------------------------

    def run(self, order_id: str) -> bool:
        """Run one delivered order; True when it ended here (acknowledge the message), False
        when it was handed back unstarted (give the message back). Never raises."""
        if self._closing.is_set():
            return False
        job = self._runner.claim(order_id)
        if job is None:
            return True  # another run holds it or it has finished: the message is spent
        try:
            if self._runner.gave_up(job):
                return True
            params = job.params
            if not isinstance(params, RemovalParams) or (
                params.model not in (None, self.config.model_id)
            ):
                return self._run_other(job)
            with self._holding(job):
                return self._run_batched(job, params)
        except HandedBack:
            self._lifecycle.hand_back(job)
            return False
        except Exception:  # the runner never raises; this keeps the thread's promise
            log.exception("order %s: the batching worker failed", job.id)
            return True
        finally:
            self._runner.forget(job)

    def _run_other(self, job: Job) -> bool:
        """A generation order or another model's removal: run whole, beside the batches."""
        if not self._other.acquire(timeout=_OTHER_WAIT_SECONDS):
            raise HandedBack
        try:
            self._runner.run_claimed(job)
            return True
        finally:
            self._other.release()

    def _run_batched(self, job: Job, params: RemovalParams) -> bool:
        config = self.config
        try:
            data = self._runner.read_bytes(job, job.input_key)
            backgrounds = {key: self._runner.read_bytes(job, key) for key in params.image_keys()}
            prepared = self._stage(
                "prepare",
                batch_stages.prepare,
                data,
                self._recipe,
                config.max_pixels,
                config.direct_uploads,
            )
            STAGE_TIME.labels("prepare").observe(prepared.seconds)
            if self._closing.is_set():
                raise HandedBack
            prediction = self._predict(prepared)
            finished = self._stage(
                "finish",
                batch_stages.finish,
                data,
                prediction,
                self._recipe,
                config.model_id,
                config.max_pixels,
                params.background,
                backgrounds,
                params.output,
            )
            STAGE_TIME.labels("finish").observe(finished.seconds)
        except HandedBack:
            raise
        except Exception as error:
            self._runner.fail(job, error)
            return True
        stem = self._runner.results_stem(job)
        self._runner.deliver(
            job,
            Outputs(
                Output(f"{stem}.{finished.extension}", finished.content_type, finished.output),
                Output(f"{stem}.mask.png", "image/png", finished.mask),
            ),
        )
        return True

    def _stage(self, stage: str, work: Callable[..., T], *args: Any) -> T:
        self._count(stage, 1)
        try:
            future: Future[T] = self._stages.submit(work, *args)
            return future.result()
        except BrokenExecutor:
            self._broken()
            raise HandedBack from None
        finally:
            self._count(stage, -1)

    def _broken(self) -> None:
        with self._held_lock:
            first = not self._closing.is_set()
            self._closing.set()
        if first:
            log.critical("a stage process died: draining this worker; orders go to others")
            if self._on_broken is not None:
                self._on_broken()

    def _predict(self, prepared: batch_stages.Prepared) -> Any:
        ticket = _Ticket(prepared.pixels, prepared.scale)
        self._count("ready", 1)
        try:
            # Blocks while 2B orders wait for the model: the backpressure on preparing.
            while True:
                if self._closing.is_set():
                    raise HandedBack
                try:
                    self._ready.put(ticket, timeout=0.2)
                    break
                except queue.Full:
                    continue
            ticket.done.wait()
        finally:
            self._count("ready", -1)
        if isinstance(ticket.error, HandedBack):
            raise HandedBack
        if ticket.error is not None:
            raise ticket.error
        return ticket.prediction

    # -- the model thread ------------------------------------------------------------------

    def _collect(self) -> None:
        """Take up to B ready orders (waiting at most D once one is there), one model call."""
        while not self._stopped.is_set():
            if self._closing.is_set():
                self._hand_back_ready()
                if self._stopped.wait(0.1):
                    return
                continue
            try:
                first = self._ready.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.config.max_wait_seconds
            while len(batch) < self.config.batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self._ready.get(timeout=left))
                except queue.Empty:
                    break
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Ticket]) -> None:
        started = time.perf_counter()
        try:
            predictions = self._model.predict(
                [ticket.pixels for ticket in batch], [ticket.scale for ticket in batch]
            )
        except Exception:
            log.exception(
                "a batch of %d failed in the model; running its pictures one by one", len(batch)
            )
            for ticket in batch:
                try:
                    ticket.resolve(self._model.predict([ticket.pixels], [ticket.scale])[0])
                except Exception as error:
                    ticket.resolve(error=_model_error(error))
            return
        seconds = time.perf_counter() - started
        BATCH_SIZE.observe(len(batch))
        BATCH_MODEL_TIME.observe(seconds)
        for index, ticket in enumerate(batch):
            STAGE_TIME.labels("model").observe(seconds / len(batch))
            # A copy in fp16: the finish stage reads it in another process (half the bytes).
            ticket.resolve(np.ascontiguousarray(predictions[index], dtype=np.float16))
        memory = gpu_memory_used() if self._model.placement.device == "cuda" else None
        if memory is not None:
            GPU_MEMORY.set(memory)

    def _hand_back_ready(self) -> None:
        while True:
            try:
                self._ready.get_nowait().resolve(error=HandedBack())
            except queue.Empty:
                return

    # -- leases ----------------------------------------------------------------------------

    @contextmanager
    def _holding(self, job: Job) -> Iterator[None]:
        with self._held_lock:
            self._held[job.owner] = job
        try:
            yield
        finally:
            with self._held_lock:
                self._held.pop(job.owner, None)

    def _renew(self) -> None:
        """Renew every held order's lease every third of the lease, whatever its stage."""
        while not self._stopped.wait(self._lease_seconds / 3):
            with self._held_lock:
                jobs = list(self._held.values())
            for job in jobs:
                try:
                    self._lifecycle.renew(job)
                except Exception:  # a missed beat is retried; the lease still has 2/3 left
                    log.exception("could not renew the lease of order %s", job.id)

    def held(self) -> list[str]:
        """The ids of the orders this worker holds now (for tests and logs)."""
        with self._held_lock:
            return [job.id for job in self._held.values()]

    def _count(self, stage: str, step: int) -> None:
        with self._depth_lock:
            self._depth[stage] += step
            STAGE_DEPTH.labels(stage).set(self._depth[stage])


def _model_error(error: Exception) -> Exception:
    if isinstance(error, BackdropError):
        return error
    return RuntimeError(f"the model could not run on this image: {error}")
