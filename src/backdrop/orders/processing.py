"""Running one order: claim it, load its images, run the engine, store results, charge.

An order is claimed with a compare-and-set on its row: a lease naming this run and an expiry.
A message delivered twice therefore runs once; a worker killed mid-order stops renewing its
lease, and another worker takes the order over once it has expired. Every run writes its
results under its own keys, so a run that lost its lease deletes only what it wrote itself.

Credits are taken in the same transaction that makes the order `active`; any failure leaves
the order `failed` with a reason and the balance untouched.
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
from datetime import timedelta

from PIL import Image
from sqlalchemy import Update, or_, select, update

from backdrop.db.models import ApiKey, Order, OrderStatus, StoredImage
from backdrop.db.session import Database
from backdrop.engines import pipeline
from backdrop.engines.generators import Generators
from backdrop.engines.segmenters import Segmenters
from backdrop.errors import BackdropError, ImageNotFound, UnsupportedMediaType
from backdrop.imaging.compose import encode_jpeg
from backdrop.imaging.decode import load_image
from backdrop.imaging.formats import sniff_content_type
from backdrop.imaging.output import render
from backdrop.observability.metrics import CREDITS_CHARGED, ORDERS
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.credits import from_cents
from backdrop.orders.params import GenerationParams, OrderParams, from_json, to_pipeline
from backdrop.settings import Settings
from backdrop.storage.base import ImageStore

log = logging.getLogger(__name__)

RESULTS_PREFIX = "results"
# An order whose processing crashed its worker this many times is given up on.
MAX_ATTEMPTS = 3


def worker_identity() -> str:
    """host:pid, so a lease says which process holds it."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass(frozen=True)
class Job:
    """A claimed order: what to run, and the lease (`owner`) this run holds."""

    id: str
    operation: str
    input_key: str
    params: OrderParams
    cost_cents: int
    api_key_id: str
    attempts: int
    owner: str
    # The declared type of each image the order reads (input, background, style image).
    declared_types: dict[str, str]

    @property
    def run(self) -> str:
        return self.owner.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class _Result:
    key: str
    content_type: str
    data: bytes


class LeaseLost(Exception):
    """Another run took the order over, or it finished elsewhere."""


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
        self._db = db
        self._store = store
        self._settings = settings
        self._segmenters = segmenters
        self._generators = generators or Generators(settings.generation)
        self._clock = clock
        self._worker_id = worker_id or worker_identity()
        self._lease = timedelta(seconds=settings.queue.lease_seconds)

    def run(self, order_id: str) -> None:
        """Take the order from `init` to `active` or `failed`. Never raises."""
        job = self.claim(order_id)
        if job is None:
            return
        if job.attempts > MAX_ATTEMPTS:
            self._fail(job, f"gave up after {MAX_ATTEMPTS} interrupted attempts")
            return
        with self._renewing(job):
            try:
                results = self._execute(job)
            except BackdropError as error:
                self._fail(job, error.detail)
                return
            except Exception:
                log.exception("order %s failed unexpectedly", job.id)
                self._fail(job, "unable to process this image")
                return
            try:
                for result in results:
                    self._store.write(result.key, result.data, result.content_type)
                self._complete(job, results)
            except LeaseLost:
                log.warning("order %s was taken over by another run; its results stand", job.id)
                self._discard(results)
            except Exception:
                log.exception("order %s could not be stored", job.id)
                self._discard(results)
                self._fail(job, "unable to store the result")

    def claim(self, order_id: str) -> Job | None:
        """Lease the order to a new run of this worker, or None when it is not free.

        Free means `init` with no lease or an expired one: a compare-and-set in one UPDATE,
        so of two workers given the same order exactly one gets it.
        """
        now = self._clock()
        owner = f"{self._worker_id}:{secrets.token_hex(6)}"
        with self._db.unit_of_work() as session:
            claimed = session.execute(
                update(Order)
                .where(
                    Order.id == order_id,
                    Order.status == OrderStatus.INIT.value,
                    or_(Order.lease_owner.is_(None), Order.lease_expires_at <= now),
                )
                # Counted before the work, so a crash mid-order still counts as an attempt.
                .values(
                    lease_owner=owner,
                    lease_expires_at=now + self._lease,
                    attempts=Order.attempts + 1,
                )
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            order = session.get(Order, order_id, populate_existing=True)
            assert order is not None
            params = from_json(order.operation, dict(order.params))
            keys = [order.input_key, *params.image_keys()]
            declared = {
                image.key: image.content_type
                for image in session.scalars(select(StoredImage).where(StoredImage.key.in_(keys)))
            }
            return Job(
                order.id,
                order.operation,
                order.input_key,
                params,
                order.cost_cents,
                order.api_key_id,
                order.attempts,
                owner,
                declared,
            )

    def renew(self, job: Job) -> bool:
        """Extend the lease; False when it is no longer this run's."""
        with self._db.unit_of_work() as session:
            renewed = session.execute(
                _held(job).values(lease_expires_at=self._clock() + self._lease)
            )
            return bool(renewed.rowcount == 1)  # type: ignore[attr-defined]

    @contextmanager
    def _renewing(self, job: Job) -> Iterator[None]:
        """Renew the lease every third of its length while the block runs."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self._lease.total_seconds() / 3):
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

    def _load(self, job: Job, key: str) -> Image.Image:
        try:
            data = self._store.read(key)
        except ImageNotFound:
            raise ImageNotFound("the image has expired or was deleted") from None
        # Uploads straight to a bucket are not seen by an API node: their type is checked here.
        declared = job.declared_types.get(key)
        actual = sniff_content_type(data[:32])
        if declared is not None and actual is not None and actual != declared:
            raise UnsupportedMediaType(
                f"the uploaded bytes are {actual}, but the upload URL was for {declared}"
            )
        return load_image(data, max_pixels=self._settings.limits.max_pixels)

    def _execute(self, job: Job) -> list[_Result]:
        image = self._load(job, job.input_key)
        params = job.params
        stem = f"{RESULTS_PREFIX}/{job.id}.{job.run}"
        if isinstance(params, GenerationParams):
            style_key = params.style_key
            generated = pipeline.generate_background(
                image,
                self._segmenters.get(),
                self._generators.get(params.engine),
                params.prompt,
                seed=params.seed,
                negative_prompt=params.negative_prompt,
                style_image=self._load(job, style_key) if style_key else None,
            )
            return [_Result(f"{stem}.jpg", "image/jpeg", encode_jpeg(generated))]
        cutout = pipeline.remove_background(
            image,
            self._segmenters.get(params.model),
            to_pipeline(params.background, lambda key: self._load(job, key)),
        )
        rendered = render(cutout.output, cutout.mask, params.output)
        options = rendered.options
        return [
            _Result(f"{stem}.{options.format}", options.content_type, rendered.output),
            _Result(f"{stem}.mask.png", "image/png", rendered.mask),
        ]

    def _complete(self, job: Job, results: list[_Result]) -> None:
        if not self._commit(job, results):
            # Deleted once the row is unlocked: no store round trips inside the transaction.
            self._discard(results)

    def _commit(self, job: Job, results: list[_Result]) -> bool:
        """Make the order `active` and charge it; False (order `failed`) without credits."""
        now = self._clock()
        with self._db.unit_of_work() as session:
            # The order row is locked first: two runs finishing at once take turns here, and
            # the second one finds the lease is no longer its own.
            order = session.scalar(
                select(Order)
                .where(Order.id == job.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if (
                order is None
                or order.status != OrderStatus.INIT.value
                or order.lease_owner != job.owner
            ):
                raise LeaseLost(job.id)
            charged = session.execute(
                update(ApiKey)
                .where(ApiKey.id == job.api_key_id, ApiKey.credit_cents >= job.cost_cents)
                .values(credit_cents=ApiKey.credit_cents - job.cost_cents)
            )
            order.lease_owner = None
            order.lease_expires_at = None
            order.finished_at = now
            if charged.rowcount != 1:  # type: ignore[attr-defined]
                ORDERS.labels(job.operation, OrderStatus.FAILED.value).inc()
                order.status = OrderStatus.FAILED.value
                order.failure_reason = "API credits consumed"
                return False
            order.status = OrderStatus.ACTIVE.value
            order.charged_cents = job.cost_cents
            CREDITS_CHARGED.inc(from_cents(job.cost_cents))
            ORDERS.labels(job.operation, OrderStatus.ACTIVE.value).inc()
            order.output_key = results[0].key
            order.mask_key = results[1].key if len(results) > 1 else None
            for result in results:
                session.add(
                    StoredImage(
                        key=result.key,
                        api_key_id=job.api_key_id,
                        content_type=result.content_type,
                        size=len(result.data),
                        uploaded=True,
                        created_at=now,
                        expires_at=order.expires_at,
                    )
                )
            return True

    def _discard(self, results: list[_Result]) -> None:
        for result in results:
            try:
                self._store.delete(result.key)
            except Exception:  # the sweeper removes what is left once it has expired
                log.exception("could not delete %s", result.key)

    def _fail(self, job: Job, reason: str) -> None:
        with self._db.unit_of_work() as session:
            failed = session.execute(
                _held(job).values(
                    status=OrderStatus.FAILED.value,
                    failure_reason=reason,
                    finished_at=self._clock(),
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if failed.rowcount != 1:  # type: ignore[attr-defined]
                log.info("order %s: not failed, another run holds it", job.id)
            else:
                ORDERS.labels(job.operation, OrderStatus.FAILED.value).inc()


def _held(job: Job) -> Update:
    """An UPDATE of the order that matches only while `job`'s run still holds it."""
    return update(Order).where(
        Order.id == job.id,
        Order.status == OrderStatus.INIT.value,
        Order.lease_owner == job.owner,
    )
