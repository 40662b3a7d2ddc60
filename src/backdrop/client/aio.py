"""The asynchronous SDK client: the same API as `Client`, awaited; the core's flows on asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from PIL import Image

from backdrop.client.core import DEFAULT_WAIT_SECONDS, ClientCore
from backdrop.client.drivers import run_async
from backdrop.client.images import ImageInput
from backdrop.client.polling import PollSchedule, RetryPolicy
from backdrop.client.results import AsyncResult, Order
from backdrop.client.steps import Flow

T = TypeVar("T")


class AsyncClient(ClientCore[AsyncResult]):
    """A backdrop (or LightX) API client for asyncio.

    >>> async with AsyncClient("http://127.0.0.1:8000", api_key="bd_...") as client:
    ...     result = await client.remove_background("photo.jpg")
    ...     await result.save("cutout.png")
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        poll: PollSchedule | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(base_url, api_key, retry=retry, poll=poll, clock=clock)
        # Injectable so tests can run backoff and polling without real waiting.
        self._sleep = sleep
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- operations ----------------------------------------------------------------------

    async def upload(self, image: str | Path | bytes | Image.Image) -> str:
        """Upload an image (path, bytes or PIL image); returns its imageUrl."""
        return await self._run(self._upload_flow(image))

    async def remove_background(
        self,
        image: ImageInput,
        background: str | Path | bytes | Image.Image = "transparent",
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_SECONDS,
        **options: Any,
    ) -> AsyncResult:
        """Cut out the subject onto `background`; see `Client.remove_background`."""
        return await self._run(self._removal_flow(image, background, wait, timeout, options))

    async def generate_background(
        self,
        image: ImageInput,
        prompt: str,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_SECONDS,
        **options: Any,
    ) -> AsyncResult:
        """Put the subject on a background described by `prompt`."""
        return await self._run(self._generation_flow(image, prompt, wait, timeout, options))

    async def order_status(self, order: str | Order) -> AsyncResult:
        """The order's current state (one request, no waiting)."""
        return await self._run(self._status_flow(order))

    async def wait(
        self, order: str | Order, *, timeout: float = DEFAULT_WAIT_SECONDS
    ) -> AsyncResult:
        """Poll until the order is active; raises OrderFailed or OrderTimeout otherwise."""
        return await self._run(self._wait_flow(order, timeout))

    async def credits(self) -> float:
        """The key's credit balance."""
        return await self._run(self._credits_flow())

    async def download(self, url: str) -> bytes:
        """The bytes behind an output or mask URL."""
        return await self._run(self._download_flow(url))

    # -- driving the core ----------------------------------------------------------------

    async def _run(self, flow: Flow[T]) -> T:
        return await run_async(flow, self._http, self._sleep)

    def _bind(self, order: Order) -> AsyncResult:
        return AsyncResult(**{**vars(order), "_download": self.download})
