"""Reading orders: one order for its owner, the unfinished ones, and recent run times."""

from __future__ import annotations

import math

from sqlalchemy import select

from backdrop.common.clock import Clock, utcnow
from backdrop.db.models import Order
from backdrop.db.session import Database
from backdrop.errors import OrderNotFound
from backdrop.kinds import Operation, OrderStatus
from backdrop.orders.lifecycle import OrderView, PendingOrder, view_of

# How many recent orders the cluster's avgResponseTimeInSec estimate averages over.
_RECENT_ORDERS = 20


class Orders:
    def __init__(self, db: Database, default_response_seconds: int, clock: Clock = utcnow) -> None:
        self._db = db
        self._default_response_seconds = default_response_seconds
        self._clock = clock

    def status(self, key_id: str, order_id: str) -> OrderView:
        """The order `order_id` if it belongs to `key_id`; another key's order is 'unknown'."""
        with self._db.unit_of_work() as session:
            order = session.get(Order, order_id) if order_id else None
            if order is None or order.api_key_id != key_id or order.expires_at <= self._clock():
                raise OrderNotFound(f"no order {order_id!r}")
            return view_of(order)

    def avg_response_seconds(self, operation: Operation) -> int:
        """Mean wall time of the latest finished orders of this kind, whole seconds, >= 1."""
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(Order.created_at, Order.finished_at)
                .where(
                    Order.operation == operation,
                    Order.status == OrderStatus.ACTIVE,
                    Order.finished_at.is_not(None),
                )
                .order_by(Order.finished_at.desc())
                .limit(_RECENT_ORDERS)
            ).all()
        durations = [(finished - created).total_seconds() for created, finished in rows if finished]
        if not durations:
            return self._default_response_seconds
        return max(1, math.ceil(sum(durations) / len(durations)))

    def pending(self) -> list[PendingOrder]:
        """Orders still `init`, oldest first: what a restarted worker pool picks up again."""
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(Order.id, Order.api_key_id, Order.operation)
                .where(Order.status == OrderStatus.INIT)
                .order_by(Order.created_at)
            ).all()
        return [PendingOrder(order_id, key_id, Operation(op)) for order_id, key_id, op in rows]


class RecentOrders:
    """A cluster's view for admission: the broker's backlog is not visible from an API node,
    so an order is expected to take as long as the latest ones of its kind took from creation
    to done (their wait included), read from the order rows every node shares."""

    # A bound on these times would lock a cluster out for good after one busy spell: no new
    # order would finish to bring the mean down. The per-key limits still apply.
    knows_backlog = False

    def __init__(self, orders: Orders) -> None:
        self._orders = orders

    def expected_wait(self, owner: str) -> float:
        return 0.0  # already inside run_seconds: those times include the queue wait

    def run_seconds(self, kind: str, megapixels: float = 1.0) -> float:
        # The rows keep no image sizes: the recent times are what orders of any size took.
        return float(self._orders.avg_response_seconds(Operation(kind)))
