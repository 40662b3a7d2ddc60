"""Typed orders and results; a finished result can save or open its images."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from backdrop.common.files import write_atomically

OrderState = Literal["init", "active", "failed"]


@dataclass(frozen=True)
class Order:
    """An order as the server reports it; `output_url` is set once it is `active`."""

    order_id: str
    status: OrderState
    output_url: str | None = None
    mask_url: str | None = None
    reason: str | None = None
    # From the creation answer: how long such an order takes, and LightX's poll budget.
    avg_response_seconds: float | None = None
    max_retries_allowed: int | None = None

    @property
    def done(self) -> bool:
        return self.status != "init"

    @classmethod
    def from_created(cls, body: dict[str, Any]) -> Order:
        return cls(
            order_id=str(body["orderId"]),
            status=body.get("status", "init"),
            avg_response_seconds=_float_or_none(body.get("avgResponseTimeInSec")),
            max_retries_allowed=body.get("maxRetriesAllowed"),
        )

    def updated(self, body: dict[str, Any]) -> Order:
        """This order with the fields of an order-status answer."""
        return Order(
            order_id=str(body.get("orderId", self.order_id)),
            status=body["status"],
            output_url=body.get("output"),
            mask_url=body.get("mask"),
            reason=body.get("reason"),
            avg_response_seconds=self.avg_response_seconds,
            max_retries_allowed=self.max_retries_allowed,
        )


def _float_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _need(url: str | None, what: str, order: Order) -> str:
    if url is None:
        raise ValueError(f"order {order.order_id} ({order.status}) has no {what}")
    return url


@dataclass(frozen=True)
class Result(Order):
    """An order from `Client`; `save` and `image` download its output."""

    _download: Callable[[str], bytes] | None = field(default=None, repr=False, compare=False)

    def _fetch(self, url: str) -> bytes:
        if self._download is None:
            raise RuntimeError("this result is not bound to a client")
        return self._download(url)

    def output_bytes(self) -> bytes:
        return self._fetch(_need(self.output_url, "output", self))

    def mask_bytes(self) -> bytes:
        return self._fetch(_need(self.mask_url, "mask", self))

    def save(self, path: str | Path) -> Path:
        """Download the output to `path` (written atomically); returns the path."""
        target = Path(path)
        write_atomically(target, self.output_bytes())
        return target

    def save_mask(self, path: str | Path) -> Path:
        target = Path(path)
        write_atomically(target, self.mask_bytes())
        return target

    def image(self) -> Image.Image:
        """The output as a decoded PIL image."""
        return _decode(self.output_bytes())

    def mask(self) -> Image.Image:
        return _decode(self.mask_bytes())


@dataclass(frozen=True)
class AsyncResult(Order):
    """An order from `AsyncClient`; its download methods are coroutines."""

    _download: Callable[[str], Awaitable[bytes]] | None = field(
        default=None, repr=False, compare=False
    )

    async def _fetch(self, url: str) -> bytes:
        if self._download is None:
            raise RuntimeError("this result is not bound to a client")
        return await self._download(url)

    async def output_bytes(self) -> bytes:
        return await self._fetch(_need(self.output_url, "output", self))

    async def mask_bytes(self) -> bytes:
        return await self._fetch(_need(self.mask_url, "mask", self))

    async def save(self, path: str | Path) -> Path:
        target = Path(path)
        write_atomically(target, await self.output_bytes())
        return target

    async def save_mask(self, path: str | Path) -> Path:
        target = Path(path)
        write_atomically(target, await self.mask_bytes())
        return target

    async def image(self) -> Image.Image:
        return _decode(await self.output_bytes())

    async def mask(self) -> Image.Image:
        return _decode(await self.mask_bytes())


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
