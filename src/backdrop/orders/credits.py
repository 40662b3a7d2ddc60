"""What each operation costs, in hundredths of a credit.

LightX charges 0.5 credits per removal and 1 per generation; cents keep that exact.
"""

from __future__ import annotations

from backdrop.db.models import Operation

COST_CENTS: dict[Operation, int] = {
    Operation.REMOVE_BACKGROUND: 50,
    Operation.GENERATE_BACKGROUND: 100,
    Operation.PRODUCT_PHOTOSHOOT: 100,
}


def to_cents(credits: float) -> int:
    return round(credits * 100)


def from_cents(cents: int) -> float:
    return cents / 100
