"""The synchronous SDK client: the core's flows, driven by blocking I/O."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from PIL import Image

from backdrop.client.core import DEFAULT_WAIT_SECONDS, ClientCore
from backdrop.client.drivers import run_blocking
from backdrop.client.images import ImageInput
from backdrop.client.polling import PollSchedule, RetryPolicy
from backdrop.client.results import Order, Result
from backdrop.client.steps import Flow

T = TypeVar("T")


class Client(ClientCore[Result]):
    """A backdrop (or LightX) API client.

    >>> client = Client("http://127.0.0.1:8000", api_key="bd_...")
    >>> client.remove_background("photo.jpg").save("cutout.png")
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        poll: PollSchedule | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(base_url, api_key, retry=retry, poll=poll, clock=clock)
        # Injectable so tests can run backoff and polling without real waiting.
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations ----------------------------------------------------------------------

    def upload(self, image: str | Path | bytes | Image.Image) -> str:
        """Upload an image (path, bytes or PIL image); returns its imageUrl."""
        return self._run(self._upload_flow(image))

    def remove_background(
        self,
        image: ImageInput,
        background: str | Path | bytes | Image.Image = "transparent",
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_SECONDS,
        **options: Any,
    ) -> Result:
        """Cut out the subject onto `background` (transparent, a colour, or an image).

        Waits for the result unless `wait=False`; extra `options` are sent as body fields.
        """
        return self._run(self._removal_flow(image, background, wait, timeout, options))

    def generate_background(
        self,
        image: ImageInput,
        prompt: str,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_SECONDS,
        **options: Any,
    ) -> Result:
        """Put the subject on a background described by `prompt`."""
        return self._run(self._generation_flow(image, prompt, wait, timeout, options))

    def order_status(self, order: str | Order) -> Result:
        """The order's current state (one request, no waiting)."""
        return self._run(self._status_flow(order))

    def wait(self, order: str | Order, *, timeout: float = DEFAULT_WAIT_SECONDS) -> Result:
        """Poll until the order is active; raises OrderFailed or OrderTimeout otherwise."""
        return self._run(self._wait_flow(order, timeout))

    def credits(self) -> float:
        """The key's credit balance."""
        return self._run(self._credits_flow())

    def download(self, url: str) -> bytes:
        """The bytes behind an output or mask URL."""
        return self._run(self._download_flow(url))

    # -- driving the core ----------------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        return run_blocking(flow, self._http, self._sleep)

    def _bind(self, order: Order) -> Result:
        return Result(**{**vars(order), "_download": self.download})
