"""What each operation costs, in hundredths of a credit.

LightX charges 0.5 credits per removal and 1 per generation; cents keep that exact.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backdrop.db.models import ApiKey, Order
from backdrop.kinds import Operation, OrderStatus

COST_CENTS: dict[Operation, int] = {
    Operation.REMOVE_BACKGROUND: 50,
    Operation.GENERATE_BACKGROUND: 100,
    Operation.PRODUCT_PHOTOSHOOT: 100,
}


def to_cents(credits: float) -> int:
    return round(credits * 100)


def from_cents(cents: int) -> float:
    return cents / 100


# The cheapest order: a key that cannot pay for it gets no upload URL either.
CHEAPEST_CENTS = min(COST_CENTS.values())


def available_cents(session: Session, key: ApiKey) -> int:
    """The key's balance less what its orders still waiting (init) will cost."""
    pending = session.scalar(
        select(func.coalesce(func.sum(Order.cost_cents), 0)).where(
            Order.api_key_id == key.id, Order.status == OrderStatus.INIT
        )
    )
    return key.credit_cents - int(pending or 0)
