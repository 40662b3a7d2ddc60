"""Every change of an order row, in one place: create, claim, renew, complete, fail, abandon,
requeue, release and expire.

An order is claimed with a compare-and-set on its row: a lease naming the run and an expiry.
A message delivered twice therefore runs once; a worker killed mid-order stops renewing its
lease, and another worker takes the order over once it has expired. Credits are taken in the
same transaction that makes the order `active`; a failed order keeps the balance untouched.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Update, delete, or_, select, update

from backdrop.accounts.credits import COST_CENTS, available_cents, from_cents
from backdrop.common.clock import Clock, utcnow
from backdrop.db.models import ApiKey, Order, StoredImage
from backdrop.db.session import Database
from backdrop.errors import CreditsConsumed, InvalidApiKey
from backdrop.kinds import FailureCode, Operation, OrderStatus
from backdrop.observability.metrics import CREDITS_CHARGED, CREDITS_REFUNDED, ORDERS
from backdrop.orders.params import OrderParams, from_json, to_json
from backdrop.settings import Settings

log = logging.getLogger(__name__)

# What a failed order says when its key could not pay for it at the end.
CREDITS_CONSUMED_REASON = "API credits consumed"


@dataclass(frozen=True)
class OrderView:
    """An order as its owner sees it."""

    id: str
    operation: Operation
    status: OrderStatus
    output_key: str | None
    mask_key: str | None
    failure_code: FailureCode | None
    failure_reason: str | None


@dataclass(frozen=True)
class PendingOrder:
    id: str
    key_id: str
    operation: Operation


@dataclass(frozen=True)
class Job:
    """A claimed order: what to run, and the lease (`owner`) this run holds."""

    id: str
    operation: Operation
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
class StoredResult:
    """A file a run wrote to the image store."""

    key: str
    content_type: str
    size: int


@dataclass(frozen=True)
class Results:
    """What a finished order hands its owner: the output, and a mask for removals."""

    output: StoredResult
    mask: StoredResult | None = None

    def files(self) -> list[StoredResult]:
        return [self.output] if self.mask is None else [self.output, self.mask]


class LeaseLost(Exception):
    """Another run took the order over, or it finished elsewhere."""


def new_order_id() -> str:
    # 25 hex characters, the shape of LightX's order ids.
    return secrets.token_hex(13)[:25]


class Lifecycle:
    """The one writer of order rows."""

    def __init__(self, db: Database, settings: Settings, clock: Clock = utcnow) -> None:
        self._db = db
        self._settings = settings
        self._clock = clock
        self._lease = timedelta(seconds=settings.queue.lease_seconds)

    def create(
        self, key_id: str, operation: Operation, image_key: str, params: OrderParams
    ) -> OrderView:
        """A new `init` order, if the key's balance, less its waiting orders, can pay for it."""
        cost = COST_CENTS[operation]
        now = self._clock()
        with self._db.unit_of_work() as session:
            # Lock the key's row so concurrent orders cannot both pass the credit check.
            key = session.scalar(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
            if key is None:
                raise InvalidApiKey("unknown API key")
            available = available_cents(session, key)
            if available < cost:
                raise CreditsConsumed(
                    f"this order costs {from_cents(cost)} credits; "
                    f"{max(from_cents(available), 0.0)} are available"
                )
            order = Order(
                id=new_order_id(),
                api_key_id=key_id,
                operation=operation,
                status=OrderStatus.INIT,
                input_key=image_key,
                params=to_json(params),
                cost_cents=cost,
                charged_cents=0,
                attempts=0,
                created_at=now,
                expires_at=now + timedelta(seconds=self._settings.lifetimes.image_seconds),
                # No owner: free to claim. The expiry is when recovery queues it again.
                lease_expires_at=now + timedelta(seconds=self._settings.queue.requeue_seconds),
            )
            session.add(order)
        return view_of(order)

    def claim(self, order_id: str, owner: str) -> Job | None:
        """Lease the order to the run `owner`, or None when it is not free.

        Free means `init` with no lease or an expired one: a compare-and-set in one UPDATE,
        so of two workers given the same order exactly one gets it.
        """
        now = self._clock()
        with self._db.unit_of_work() as session:
            claimed = session.execute(
                update(Order)
                .where(
                    Order.id == order_id,
                    Order.status == OrderStatus.INIT,
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
                Operation(order.operation),
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

    def complete(self, job: Job, results: Results) -> bool:
        """Make the order `active` and charge it; False (order `failed`) without credits.

        LeaseLost when the run no longer holds the order.
        """
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
            if order is None or order.status != OrderStatus.INIT or order.lease_owner != job.owner:
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
                ORDERS.labels(job.operation, OrderStatus.FAILED).inc()
                order.status = OrderStatus.FAILED
                order.failure_code = FailureCode.CREDITS_CONSUMED
                order.failure_reason = CREDITS_CONSUMED_REASON
                return False
            order.status = OrderStatus.ACTIVE
            order.charged_cents = job.cost_cents
            CREDITS_CHARGED.inc(from_cents(job.cost_cents))
            ORDERS.labels(job.operation, OrderStatus.ACTIVE).inc()
            order.output_key = results.output.key
            order.mask_key = results.mask.key if results.mask is not None else None
            for result in results.files():
                session.add(
                    StoredImage(
                        key=result.key,
                        api_key_id=job.api_key_id,
                        content_type=result.content_type,
                        size=result.size,
                        uploaded=True,
                        created_at=now,
                        expires_at=order.expires_at,
                    )
                )
            return True

    def fail(self, job: Job, code: FailureCode, reason: str) -> None:
        """Fail the order while this run holds it; nothing is charged."""
        with self._db.unit_of_work() as session:
            failed = session.execute(
                _held(job).values(
                    status=OrderStatus.FAILED,
                    failure_code=code,
                    failure_reason=reason,
                    finished_at=self._clock(),
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
            if failed.rowcount != 1:  # type: ignore[attr-defined]
                log.info("order %s: not failed, another run holds it", job.id)
            else:
                ORDERS.labels(job.operation, OrderStatus.FAILED).inc()

    def release(self, job: Job) -> bool:
        """Give back an order this run claimed but did not start (a worker draining): free to
        claim at once, and the claim does not count as an attempt. False if not held."""
        with self._db.unit_of_work() as session:
            released = session.execute(
                _held(job).values(
                    lease_owner=None, lease_expires_at=self._clock(), attempts=Order.attempts - 1
                )
            )
            return bool(released.rowcount == 1)  # type: ignore[attr-defined]

    def abandon(self, order_id: str, reason: str) -> None:
        """Fail an order that could not be queued; it charged nothing."""
        with self._db.unit_of_work() as session:
            # A worker may hold it already (the publish failed after the broker had it).
            session.execute(
                update(Order)
                .where(
                    Order.id == order_id,
                    Order.status == OrderStatus.INIT,
                    Order.lease_owner.is_(None),
                )
                .values(
                    status=OrderStatus.FAILED,
                    failure_code=FailureCode.NOT_QUEUED,
                    failure_reason=reason,
                    finished_at=self._clock(),
                )
            )

    def cancel(self, order_id: str, reason: str) -> list[str]:
        """Fail a one-call order whose answer could not be handed over, and give back what it
        was charged; returns the result files to delete (their rows are gone already).

        An order still running is failed here: its run then finds the lease gone when it
        finishes and deletes what it wrote. A finished one is refunded and loses its results,
        so they cannot be fetched for free through order-status.
        """
        with self._db.unit_of_work() as session:
            # Locked first, as `complete` does: the two take turns on the row.
            order = session.scalar(
                select(Order)
                .where(Order.id == order_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            if order is None or order.status == OrderStatus.FAILED:
                return []
            results = [key for key in (order.output_key, order.mask_key) if key is not None]
            if order.charged_cents:
                session.execute(
                    update(ApiKey)
                    .where(ApiKey.id == order.api_key_id)
                    .values(credit_cents=ApiKey.credit_cents + order.charged_cents)
                )
                CREDITS_REFUNDED.inc(from_cents(order.charged_cents))
            if results:
                session.execute(delete(StoredImage).where(StoredImage.key.in_(results)))
            order.status = OrderStatus.FAILED
            order.failure_code = FailureCode.CANCELLED
            order.failure_reason = reason
            order.charged_cents = 0
            order.output_key = order.mask_key = None
            order.lease_owner = order.lease_expires_at = None
            order.finished_at = self._clock()
            ORDERS.labels(order.operation, OrderStatus.FAILED).inc()
            return results

    def requeue_stalled(self, limit: int = 500) -> list[str]:
        """Free the `init` orders whose lease has run out and return their ids to queue again.

        A run's lease runs out when its worker died mid-order; an unclaimed order's when its
        message was lost. Each is given a fresh re-queue deadline, so it is queued once per
        deadline and not at every pass.
        """
        now = self._clock()
        deadline = now + timedelta(seconds=self._settings.queue.requeue_seconds)
        with self._db.unit_of_work() as session:
            ids = list(
                session.scalars(
                    select(Order.id)
                    .where(Order.status == OrderStatus.INIT, Order.lease_expires_at <= now)
                    .order_by(Order.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                ).all()
            )
            if ids:
                session.execute(
                    update(Order)
                    .where(Order.id.in_(ids), Order.lease_expires_at <= now)
                    .values(lease_owner=None, lease_expires_at=deadline)
                )
            return ids

    def release_leases(self) -> int:
        """Free every `init` order's lease. Only for the embedded mode at start: its one
        process is the only runner, so any lease left was held by a run that died with it."""
        with self._db.unit_of_work() as session:
            released = session.execute(
                update(Order)
                .where(Order.status == OrderStatus.INIT, Order.lease_owner.is_not(None))
                .values(lease_owner=None, lease_expires_at=None)
            )
            return int(released.rowcount or 0)  # type: ignore[attr-defined]

    def expire(self) -> int:
        """Delete finished orders past their 24 hours; returns how many."""
        with self._db.unit_of_work() as session:
            removed = session.execute(
                delete(Order).where(
                    Order.expires_at <= self._clock(), Order.status != OrderStatus.INIT
                )
            )
            return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def view_of(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        operation=Operation(order.operation),
        status=OrderStatus(order.status),
        output_key=order.output_key,
        mask_key=order.mask_key,
        failure_code=order.failure_code,
        failure_reason=order.failure_reason,
    )


def _held(job: Job) -> Update:
    """An UPDATE of the order that matches only while `job`'s run still holds it."""
    return update(Order).where(
        Order.id == job.id,
        Order.status == OrderStatus.INIT,
        Order.lease_owner == job.owner,
    )
