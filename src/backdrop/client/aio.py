"""The asynchronous SDK client: the same API as `Client`, awaited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from backdrop.client import protocol
from backdrop.client.errors import OrderFailed, OrderTimeout, TransportError
from backdrop.client.images import ImageInput, as_upload, is_image_background, is_url
from backdrop.client.polling import (
    RETRYABLE_STATUSES,
    PollSchedule,
    RetryPolicy,
    is_retryable_transport_error,
    retry_after_seconds,
)
from backdrop.client.results import AsyncResult, Order
from backdrop.client.sync import DEFAULT_WAIT_SECONDS


class AsyncClient:
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
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollSchedule()
        self._api_key = api_key
        # Injectable so tests can run timeouts and backoff without real waiting.
        self._sleep = sleep
        self._clock = clock
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
        # Reading and encoding can take a while for big files: keep the event loop free.
        upload = await asyncio.to_thread(as_upload, image)
        body = await self._api(
            "POST",
            protocol.UPLOAD_PATH,
            protocol.upload_request(len(upload.data), upload.content_type),
        )
        response = await self._send(
            "PUT",
            body["uploadImage"],
            idempotent=True,
            content=upload.data,
            headers={"Content-Type": upload.content_type},
        )
        protocol.raise_for_plain(response, "upload")
        image_url: str = body["imageUrl"]
        return image_url

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
        image_url = await self._image_url(image)
        if is_image_background(background):
            background = await self.upload(background)
        payload = protocol.removal_request(image_url, str(background), options)
        return await self._order(protocol.REMOVE_PATH, payload, wait=wait, timeout=timeout)

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
        payload = protocol.generation_request(await self._image_url(image), prompt, options)
        return await self._order(protocol.GENERATE_PATH, payload, wait=wait, timeout=timeout)

    async def order_status(self, order: str | Order) -> AsyncResult:
        known = order if isinstance(order, Order) else Order(order_id=order, status="init")
        body = await self._api(
            "POST", protocol.STATUS_PATH, {"orderId": known.order_id}, idempotent=True
        )
        return self._bind(known.updated(body))

    async def wait(
        self, order: str | Order, *, timeout: float = DEFAULT_WAIT_SECONDS
    ) -> AsyncResult:
        """Poll until the order is active; raises OrderFailed or OrderTimeout otherwise."""
        current = order if isinstance(order, Order) else Order(order_id=order, status="init")
        started = self._clock()
        for delay in self.poll.delays(current.avg_response_seconds):
            waited = self._clock() - started
            if waited >= timeout:
                raise OrderTimeout(current, waited)
            await self._sleep(min(delay, timeout - waited))
            current = await self.order_status(current)
            if current.status == "failed":
                raise OrderFailed(current)
            if current.status == "active":
                return self._bind(current)
        raise AssertionError("the poll schedule is endless")  # pragma: no cover

    async def credits(self) -> float:
        body = await self._api("GET", protocol.ACCOUNT_PATH, None, idempotent=True)
        return float(body["credits"])

    async def download(self, url: str) -> bytes:
        response = await self._send("GET", url, idempotent=True)
        protocol.raise_for_plain(response, "download")
        return response.content

    # -- internals -----------------------------------------------------------------------

    async def _image_url(self, image: ImageInput) -> str:
        if isinstance(image, str) and is_url(image):
            return image
        return await self.upload(image)

    async def _order(
        self, path: str, payload: dict[str, Any], *, wait: bool, timeout: float
    ) -> AsyncResult:
        created = Order.from_created(await self._api("POST", path, payload))
        if not wait:
            return self._bind(created)
        return await self.wait(created, timeout=timeout)

    def _bind(self, order: Order) -> AsyncResult:
        return AsyncResult(**{**vars(order), "_download": self.download})

    async def _api(
        self, method: str, path: str, payload: dict[str, Any] | None, *, idempotent: bool = False
    ) -> dict[str, Any]:
        response = await self._send(
            method,
            self.base_url + path,
            idempotent=idempotent,
            json=payload,
            headers={"x-api-key": self._api_key},
        )
        return protocol.parse_envelope(response)

    async def _send(
        self, method: str, url: str, *, idempotent: bool, **kwargs: Any
    ) -> httpx.Response:
        """One request, retried with jittered backoff on 429, 5xx and connection errors."""
        for attempt in range(1, self.retry.attempts + 1):
            last = attempt == self.retry.attempts
            try:
                response = await self._http.request(method, url, **kwargs)
            except httpx.TransportError as error:
                if last or not is_retryable_transport_error(error, idempotent=idempotent):
                    raise TransportError(f"{method} {url}: {error!r}") from error
                await self._sleep(self.retry.delay(attempt))
                continue
            if response.status_code not in RETRYABLE_STATUSES or last:
                return response
            await self._sleep(self.retry.delay(attempt, retry_after_seconds(response)))
        raise AssertionError("unreachable")  # pragma: no cover
