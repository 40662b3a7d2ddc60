"""Finding orders that stalled in a cluster: their worker died, or their message was lost."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from backdrop.db.models import Order, OrderStatus
from backdrop.db.session import Database
from backdrop.orders.clock import Clock, utcnow
from backdrop.settings import Settings


def requeue_stalled(
    db: Database, settings: Settings, clock: Clock = utcnow, limit: int = 500
) -> list[str]:
    """Free the `init` orders whose lease has run out and return their ids to queue again.

    A run's lease runs out when its worker died mid-order; an unclaimed order's when its
    message was lost. Each is given a fresh re-queue deadline, so it is queued once per
    deadline and not at every pass.
    """
    now = clock()
    deadline = now + timedelta(seconds=settings.queue.requeue_seconds)
    with db.unit_of_work() as session:
        ids = list(
            session.scalars(
                select(Order.id)
                .where(Order.status == OrderStatus.INIT.value, Order.lease_expires_at <= now)
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
