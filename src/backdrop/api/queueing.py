"""Putting a created order on the queue: shared by the LightX routes and the remove.bg route."""

from __future__ import annotations

from backdrop.errors import BackdropError, ServiceUnavailable
from backdrop.orders.service import OrderView
from backdrop.runtime import Runtime


def check_capacity(runtime: Runtime) -> None:
    if not runtime.pool.has_room():
        raise ServiceUnavailable("too many orders are waiting; try again shortly")


def enqueue(runtime: Runtime, order: OrderView) -> None:
    """Queue `order` (its row is committed, so a worker never looks for a missing row)."""
    try:
        runtime.pool.submit(order.id)
    except BackdropError as error:
        runtime.orders.abandon(order.id, error.detail)
        raise
