"""Whether a key may have a new order or upload URL now: the one place such checks live.

Orders are refused rather than accepted when they would wait longer than a LightX client
polls (it gives up and takes the order for lost); one key cannot take the queue from others.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import func, select

from backdrop.accounts.credits import CHEAPEST_CENTS, available_cents, from_cents
from backdrop.accounts.quotas import Quotas
from backdrop.db.models import ApiKey, Order
from backdrop.db.session import Database
from backdrop.errors import CreditsConsumed, InvalidApiKey, RateLimited, ServiceUnavailable
from backdrop.kinds import Operation, OrderStatus
from backdrop.observability.metrics import LIMIT_REFUSALS
from backdrop.settings import Settings


class QueueView(Protocol):
    """What admission needs to know of the queue that will run the order."""

    # True when the estimate sees the whole backlog, so a late order can be refused on it.
    knows_backlog: bool

    def expected_wait(self, owner: str) -> float: ...

    def run_seconds(self, kind: str, megapixels: float = 1.0) -> float: ...


class Admission:
    def __init__(
        self,
        db: Database,
        quotas: Quotas,
        queue: QueueView,
        settings: Settings,
        draining: Callable[[], bool],
    ) -> None:
        self._db = db
        self._quotas = quotas
        self._queue = queue
        self._settings = settings
        self._draining = draining

    def admit_order(self, key_id: str, operation: Operation, megapixels: float = 1.0) -> int:
        """Refuse a new order of `key_id` now, or return its expected response time (s).

        The estimate is the wait for the orders ahead of it plus its own run time for an image
        of `megapixels`. An order that would start at once is never refused on the estimate:
        a slow kind or a large image is said (avgResponseTimeInSec), not turned away.
        """
        if self._draining():
            LIMIT_REFUSALS.labels("draining").inc()
            raise ServiceUnavailable("the server is restarting; try again shortly", 5)
        limit = self._settings.rate_limits.waiting_orders
        if self._waiting(key_id) >= limit:
            LIMIT_REFUSALS.labels("waiting_orders").inc()
            raise RateLimited(
                f"this key already has {limit} orders waiting; poll them first",
                {"Retry-After": str(math.ceil(self._queue.run_seconds(operation)))},
            )
        # The client polls for a bounded time: what counts is when the order will be done.
        wait = self._queue.expected_wait(key_id)
        expected = wait + self._queue.run_seconds(operation, megapixels)
        bound = self._settings.worker.max_wait_seconds
        if self._queue.knows_backlog and wait > 0 and expected > bound:
            LIMIT_REFUSALS.labels("queue_wait").inc()
            raise ServiceUnavailable(
                f"an order would take about {math.ceil(expected)} s now; try again shortly",
                expected - bound,
            )
        self._quotas.order(key_id)
        return max(1, math.ceil(expected))

    def admit_upload(self, key_id: str, size: int) -> None:
        """No upload URL for a key that cannot pay for the cheapest order, or over its bytes."""
        with self._db.unit_of_work() as session:
            key = session.get(ApiKey, key_id)
            if key is None:
                raise InvalidApiKey("unknown API key")
            available = available_cents(session, key)
        if available < CHEAPEST_CENTS:
            LIMIT_REFUSALS.labels("credits").inc()
            raise CreditsConsumed(
                f"the cheapest order costs {from_cents(CHEAPEST_CENTS)} credits; "
                f"{max(from_cents(available), 0.0)} are available"
            )
        self._quotas.upload_bytes(key_id, size)

    def _waiting(self, key_id: str) -> int:
        with self._db.unit_of_work() as session:
            count = session.scalar(
                select(func.count())
                .select_from(Order)
                .where(Order.api_key_id == key_id, Order.status == OrderStatus.INIT)
            )
        return int(count or 0)
