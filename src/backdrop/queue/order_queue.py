"""The OrderQueue protocol: how a created order reaches a worker.

The queue carries order ids only; the order rows are the source of truth, so an id lost in
transit is found again (embedded: at the next start; celery: by the sweeper's recovery).
"""

from __future__ import annotations

from typing import Protocol


class OrderQueue(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submit(
        self, order_id: str, *, owner: str = "", kind: str = "", megapixels: float = 1.0
    ) -> None:
        """Queue an order id; ServiceUnavailable when it cannot be queued now. `owner` (the
        API key), `kind` (the operation) and `megapixels` (the image's size) let a queue share
        its workers fairly and estimate when the order will be done."""
        ...

    def has_room(self) -> bool:
        """False when a new order would be refused (the service checks before creating)."""
        ...

    @property
    def alive(self) -> bool:
        """Whether orders submitted now will run (for /health)."""
        ...
