"""Running one order: load its image, run the engine, store results, charge, in that order.

Credits are taken in the same transaction that makes the order `active`; any failure leaves
the order `failed` with a reason and the balance untouched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image
from sqlalchemy import update

from backdrop.db.models import ApiKey, Operation, Order, OrderStatus, StoredImage
from backdrop.db.session import Database
from backdrop.engines import pipeline
from backdrop.engines.generation import Generators
from backdrop.engines.registry import Segmenters
from backdrop.errors import BackdropError, ImageNotFound
from backdrop.imaging.compose import encode_jpeg
from backdrop.imaging.decode import load_image
from backdrop.imaging.output import OutputOptions, render
from backdrop.observability.metrics import CREDITS_CHARGED, ORDERS
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.credits import from_cents
from backdrop.settings import Settings
from backdrop.storage.local import LocalImageStore

log = logging.getLogger(__name__)

RESULTS_PREFIX = "results"
# An order whose processing crashed the process this many times is given up on.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class _Job:
    id: str
    operation: str
    input_key: str
    params: dict[str, Any]
    cost_cents: int
    api_key_id: str
    attempts: int


@dataclass(frozen=True)
class _Result:
    key: str
    content_type: str
    data: bytes


class OrderRunner:
    """Executes orders by id; owns the engines (loaded once, on first use)."""

    def __init__(
        self,
        db: Database,
        store: LocalImageStore,
        settings: Settings,
        segmenters: Segmenters,
        generators: Generators | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._store = store
        self._settings = settings
        self._segmenters = segmenters
        self._generators = generators or Generators(settings.generation)
        self._clock = clock

    def run(self, order_id: str) -> None:
        """Take the order from `init` to `active` or `failed`. Never raises."""
        job = self._claim(order_id)
        if job is None:
            return
        if job.attempts > MAX_ATTEMPTS:
            self._fail(job, f"gave up after {MAX_ATTEMPTS} interrupted attempts")
            return
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
                self._store.write(result.key, result.data)
            self._complete(job, results)
        except Exception:
            log.exception("order %s could not be stored", job.id)
            for result in results:
                self._store.delete(result.key)
            self._fail(job, "unable to store the result")

    def _claim(self, order_id: str) -> _Job | None:
        with self._db.unit_of_work() as session:
            order = session.get(Order, order_id)
            if order is None or order.status != OrderStatus.INIT.value:
                return None
            # Counted before the work, so a crash mid-order still counts as an attempt.
            order.attempts += 1
            return _Job(
                order.id,
                order.operation,
                order.input_key,
                dict(order.params),
                order.cost_cents,
                order.api_key_id,
                order.attempts,
            )

    def _load(self, key: str) -> Image.Image:
        try:
            data = self._store.read(key)
        except ImageNotFound:
            raise ImageNotFound("the image has expired or was deleted") from None
        return load_image(data, max_pixels=self._settings.limits.max_pixels)

    def _execute(self, job: _Job) -> list[_Result]:
        image = self._load(job.input_key)
        params = job.params
        if job.operation == Operation.REMOVE_BACKGROUND.value:
            cutout = pipeline.remove_background(
                image,
                self._segmenters.get(params.get("model")),
                self._background(params["background"]),
            )
            rendered = render(
                cutout.output, cutout.mask, OutputOptions.from_params(params.get("output"))
            )
            options = rendered.options
            return [
                _Result(
                    f"{RESULTS_PREFIX}/{job.id}.{options.format}",
                    options.content_type,
                    rendered.output,
                ),
                _Result(f"{RESULTS_PREFIX}/{job.id}.mask.png", "image/png", rendered.mask),
            ]
        style_key = params.get("style_key")
        generated = pipeline.generate_background(
            image,
            self._segmenters.get(),
            self._generators.get(params.get("engine")),
            params["prompt"],
            seed=params.get("seed"),
            negative_prompt=params.get("negative_prompt"),
            style_image=self._load(style_key) if style_key else None,
        )
        return [_Result(f"{RESULTS_PREFIX}/{job.id}.jpg", "image/jpeg", encode_jpeg(generated))]

    def _background(self, spec: dict[str, Any]) -> pipeline.Background:
        kind = spec["kind"]
        if kind == "color":
            r, g, b, a = spec["rgba"]
            return pipeline.SolidColor((r, g, b, a))
        if kind == "image":
            return pipeline.BackdropImage(self._load(spec["key"]))
        return pipeline.Transparent()

    def _complete(self, job: _Job, results: list[_Result]) -> None:
        now = self._clock()
        with self._db.unit_of_work() as session:
            charged = session.execute(
                update(ApiKey)
                .where(ApiKey.id == job.api_key_id, ApiKey.credit_cents >= job.cost_cents)
                .values(credit_cents=ApiKey.credit_cents - job.cost_cents)
            )
            order = session.get(Order, job.id)
            if order is None or order.status != OrderStatus.INIT.value:
                raise RuntimeError(f"order {job.id} changed while it ran")
            if charged.rowcount != 1:  # type: ignore[attr-defined]
                ORDERS.labels(job.operation, OrderStatus.FAILED.value).inc()
                order.status = OrderStatus.FAILED.value
                order.failure_reason = "API credits consumed"
                order.finished_at = now
                for result in results:
                    self._store.delete(result.key)
                return
            order.status = OrderStatus.ACTIVE.value
            order.charged_cents = job.cost_cents
            CREDITS_CHARGED.inc(from_cents(job.cost_cents))
            ORDERS.labels(job.operation, OrderStatus.ACTIVE.value).inc()
            order.finished_at = now
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

    def _fail(self, job: _Job, reason: str) -> None:
        with self._db.unit_of_work() as session:
            order = session.get(Order, job.id)
            if order is None or order.status != OrderStatus.INIT.value:
                return
            order.status = OrderStatus.FAILED.value
            order.failure_reason = reason
            order.finished_at = self._clock()
            ORDERS.labels(job.operation, OrderStatus.FAILED.value).inc()
