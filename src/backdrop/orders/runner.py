"""Running one order: claim it, load its images, run the engine, store results, finish it.

Every run writes its results under its own keys, so a run that lost its lease (another worker
took the order over) deletes only what it wrote itself. The row changes are lifecycle.py's.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image

from backdrop.common.clock import Clock, utcnow
from backdrop.common.memory import release_free_memory
from backdrop.db.session import Database
from backdrop.engines import pipeline
from backdrop.engines.generators import Generators
from backdrop.engines.segmenters import Segmenters
from backdrop.errors import (
    BackdropError,
    CorruptImage,
    ImageNotFound,
    ImageTooLarge,
    UnknownModel,
    UnsupportedMediaType,
    WeightsUnavailable,
    storage_full,
)
from backdrop.imaging.compose import encode_jpeg
from backdrop.imaging.decode import load_image
from backdrop.imaging.formats import same_type, sniff_content_type
from backdrop.imaging.inspect import inspect_image
from backdrop.imaging.isolation import DecodePool
from backdrop.kinds import FailureCode
from backdrop.orders.lifecycle import Job, LeaseLost, Lifecycle, Results, StoredResult
from backdrop.orders.params import GenerationParams, to_pipeline
from backdrop.settings import Settings
from backdrop.storage.image_store import ImageStore

log = logging.getLogger(__name__)

RESULTS_PREFIX = "results"
# An order whose processing crashed its worker this many times is given up on.
MAX_ATTEMPTS = 3


def worker_identity() -> str:
    """host:pid, so a lease says which process holds it."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def failure_code(error: BackdropError) -> FailureCode:
    """Why an order failed, from the domain error that failed it."""
    if isinstance(error, ImageNotFound):
        return FailureCode.IMAGE_GONE
    if isinstance(error, CorruptImage | ImageTooLarge | UnsupportedMediaType):
        return FailureCode.INVALID_IMAGE
    if isinstance(error, UnknownModel | WeightsUnavailable):
        return FailureCode.ENGINE_UNAVAILABLE
    return FailureCode.PROCESSING_FAILED


@dataclass(frozen=True)
class Output:
    """A file a run made, before it is stored."""

    key: str
    content_type: str
    data: bytes

    def stored(self) -> StoredResult:
        return StoredResult(self.key, self.content_type, len(self.data))


class OrderRunner:
    """Executes orders by id; owns the engines (loaded once, on first use)."""

    def __init__(
        self,
        db: Database,
        store: ImageStore,
        settings: Settings,
        segmenters: Segmenters,
        generators: Generators | None = None,
        clock: Clock = utcnow,
        *,
        worker_id: str | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._segmenters = segmenters
        self.generators = generators or Generators(settings.generation)
        self._lifecycle = Lifecycle(db, settings, clock)
        self._worker_id = worker_id or worker_identity()
        self._lease_seconds = settings.queue.lease_seconds
        limits = settings.limits
        self._decodes = DecodePool(limits.decode_workers, limits.decode_seconds)
        # The orders this runner holds now, for a drain that runs out of time (hand_back_all).
        self._guard = threading.Lock()
        self._running: dict[str, Job] = {}
        self._handing_back = False
        self._handed_back: set[str] = set()

    def run(self, order_id: str) -> None:
        """Take the order from `init` to `active` or `failed`. Never raises."""
        try:
            self._run(order_id)
        finally:
            # A large image's temporaries (hundreds of MB at 40 MP) would otherwise stay
            # mapped in this thread's malloc arena after the order (bench/MEMORY.md).
            release_free_memory()

    def _run(self, order_id: str) -> None:
        job = self.claim(order_id)
        if job is None:
            return
        try:
            self.run_claimed(job)
        finally:
            self.forget(job)

    def forget(self, job: Job) -> None:
        """The claimed order is over for this run (ended, failed or handed back): a drain
        has nothing of it to hand back. Every path that claims must call it."""
        with self._guard:
            self._running.pop(job.id, None)

    def gave_up(self, job: Job) -> bool:
        """Fail an order that crashed its workers too often; True if it was failed."""
        if job.attempts <= MAX_ATTEMPTS:
            return False
        self._lifecycle.fail(
            job, FailureCode.INTERRUPTED, f"gave up after {MAX_ATTEMPTS} interrupted attempts"
        )
        return True

    def run_claimed(self, job: Job) -> None:
        """Run an order this worker has claimed, to `active` or `failed` (never raises)."""
        if self.gave_up(job):
            return
        with self._renewing(job):
            try:
                outputs = self._execute(job)
            except Exception as error:
                self.fail(job, error)
                return
            self.deliver(job, outputs)

    def fail(self, job: Job, error: Exception) -> None:
        """Fail the order for `error`, uncharged, saying why in words the client may read."""
        if isinstance(error, BackdropError):
            # The reason is shown to the client (order-status, remove.bg's error): the
            # server paths some details name stay in the operator's log.
            if error.public_detail != error.detail:
                log.warning("order %s failed: %s", job.id, error.detail)
            self._lifecycle.fail(job, failure_code(error), error.public_detail)
            return
        log.error("order %s failed unexpectedly", job.id, exc_info=error)
        self._lifecycle.fail(job, FailureCode.PROCESSING_FAILED, "unable to process this image")

    def deliver(self, job: Job, outputs: Outputs) -> None:
        """Store the run's files and complete the order (charging it); never raises."""
        files = [output for output in (outputs.output, outputs.mask) if output is not None]
        try:
            for output in files:
                self._store.write(output.key, output.data, output.content_type)
            results = Results(
                outputs.output.stored(), outputs.mask.stored() if outputs.mask else None
            )
            if not self._lifecycle.complete(job, results):
                # The key could not pay: deleted once the row is unlocked, not inside it.
                self._discard(files)
        except LeaseLost:
            # Another run took it over (its results stand), or it was cancelled.
            log.warning("order %s is no longer this run's; its results are dropped", job.id)
            self._discard(files)
        except Exception as error:
            log.exception("order %s could not be stored", job.id)
            self._discard(files)
            # Uncharged (only `complete` charges). A full disk is said plainly: it is
            # neither the image's fault nor worth retrying until space is freed.
            if storage_full(error) is not None:
                reason = "the server's storage is full; the result could not be stored"
                self._lifecycle.fail(job, FailureCode.STORAGE_FULL, reason)
            else:
                reason = "unable to store the result"
                self._lifecycle.fail(job, FailureCode.STORAGE_FAILED, reason)

    def claim(self, order_id: str) -> Job | None:
        """Lease the order to a new run of this worker, or None when it is not free (or this
        runner is handing its orders back)."""
        job = self._lifecycle.claim(order_id, f"{self._worker_id}:{secrets.token_hex(6)}")
        if job is None:
            return None
        with self._guard:
            if not self._handing_back:
                self._running[job.id] = job
                return job
        # Claimed just as the drain gave up: freed again at once, not left to expire.
        if self._lifecycle.hand_back(job):
            with self._guard:
                self._handed_back.add(job.id)
        return None

    def hand_back_all(self) -> list[str]:
        """Stop claiming, and free every order this runner holds so another worker may take
        it at once; returns the ids freed. Their runs go on, find the lease gone when they
        finish and drop what they made (LeaseLost), as a run that was taken over does."""
        with self._guard:
            self._handing_back = True
            jobs = list(self._running.values())
        freed = []
        for job in jobs:
            try:
                if self._lifecycle.hand_back(job):
                    freed.append(job.id)
            except Exception:  # its lease then expires and recovery queues it again
                log.exception("could not hand back order %s", job.id)
        with self._guard:
            self._handed_back.update(freed)
        return freed

    def was_handed_back(self, order_id: str) -> bool:
        """Whether this runner let go of the order for another worker to run."""
        with self._guard:
            return order_id in self._handed_back

    @property
    def running(self) -> int:
        """How many orders this runner holds now."""
        with self._guard:
            return len(self._running)

    def renew(self, job: Job) -> bool:
        """Extend the lease; False when it is no longer this run's."""
        return self._lifecycle.renew(job)

    @contextmanager
    def _renewing(self, job: Job) -> Iterator[None]:
        """Renew the lease every third of its length while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self._lease_seconds / 3):
                try:
                    if not self.renew(job):
                        return
                except Exception:  # a missed beat is retried; the lease still has 2/3 left
                    log.exception("could not renew the lease of order %s", job.id)

        thread = threading.Thread(target=beat, name=f"lease-{job.id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def read_bytes(self, job: Job, key: str) -> bytes:
        """The stored bytes of an image `job` reads, checked against their declared type."""
        try:
            data = self._store.read(key)
        except ImageNotFound:
            raise ImageNotFound("the image has expired or was deleted") from None
        # Uploads straight to a bucket are not seen by an API node: their type is checked here.
        declared = job.declared_types.get(key)
        actual = sniff_content_type(data[:32])
        if declared is not None and actual is not None and not same_type(declared, actual):
            raise UnsupportedMediaType(
                f"the uploaded bytes are {actual}, but the upload URL was for {declared}"
            )
        return data

    def _load(self, job: Job, key: str) -> Image.Image:
        data = self.read_bytes(job, key)
        max_pixels = self._settings.limits.max_pixels
        if not self._store.direct_uploads:
            # This node received the bytes itself and decoded them once, under the upload's
            # time budget: decoding here again in a child process would only cost time
            # (~170 ms at 2 MP). load_image still inspects the container first.
            return load_image(data, max_pixels=max_pixels)
        # Sent straight to a bucket, unseen so far: the container is looked at cheaply, and
        # the one decode of this run is bounded in time like an upload's.
        inspect_image(data, max_pixels=max_pixels)
        return self._decodes.run(load_image, data, max_pixels=max_pixels, complete=True)

    def results_stem(self, job: Job) -> str:
        """The start of the keys this run writes its files under."""
        return f"{RESULTS_PREFIX}/{job.id}.{job.run}"

    def _execute(self, job: Job) -> Outputs:
        image = self._load(job, job.input_key)
        params = job.params
        stem = self.results_stem(job)
        if isinstance(params, GenerationParams):
            style_key = params.style_key
            generated = pipeline.generate_background(
                image,
                self._segmenters.get(),
                self.generators.get(params.engine),
                params.prompt,
                seed=params.seed,
                negative_prompt=params.negative_prompt,
                style_image=self._load(job, style_key) if style_key else None,
                framing=params.framing,
            )
            return Outputs(Output(f"{stem}.jpg", "image/jpeg", encode_jpeg(generated)))
        rendered = pipeline.removal(
            image,
            self._segmenters.get(params.model),
            to_pipeline(params.background, lambda key: self._load(job, key)),
            params.output,
            self._settings.limits.max_pixels,
        )
        options = rendered.options
        return Outputs(
            Output(f"{stem}.{options.format}", options.content_type, rendered.output),
            Output(f"{stem}.mask.png", "image/png", rendered.mask),
        )

    def _discard(self, outputs: list[Output]) -> None:
        for output in outputs:
            try:
                self._store.delete(output.key)
            except Exception:  # the sweeper removes what is left once it has expired
                log.exception("could not delete %s", output.key)


@dataclass(frozen=True)
class Outputs:
    output: Output
    mask: Output | None = None
