"""The SDK's operations written once, without I/O: each one a flow that both clients drive.

`Client` and `AsyncClient` subclass `ClientCore`: they hold its settings, perform the steps
its flows yield, and bind finished orders to their own download method.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from backdrop.client import protocol
from backdrop.client.errors import OrderFailed, OrderTimeout
from backdrop.client.images import ImageInput, as_upload, is_image_background, is_url
from backdrop.client.polling import PollSchedule, RetryPolicy
from backdrop.client.results import Order
from backdrop.client.retrying import send_with_retries
from backdrop.client.steps import Flow, Send, offload, sleep

DEFAULT_WAIT_SECONDS = 300.0

R = TypeVar("R", bound=Order)


class ClientCore(ABC, Generic[R]):
    """The settings and the flows shared by both clients; `R` is the result type they return."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy | None,
        poll: PollSchedule | None,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = checked_base_url(base_url)
        self.retry = retry or RetryPolicy()
        self.poll = poll or PollSchedule()
        self._api_key = api_key
        # Injectable so tests can run timeouts without real waiting.
        self._clock = clock

    @abstractmethod
    def _bind(self, order: Order) -> R:
        """`order` as this client's result, able to download its images."""

    # -- flows of the public operations --------------------------------------------------

    def _upload_flow(self, image: ImageInput) -> Flow[str]:
        # Reading and encoding can take a while for big files: the async client keeps its
        # event loop free of it.
        upload = yield from offload(functools.partial(as_upload, image))
        body = yield from self._api(
            "POST",
            protocol.UPLOAD_PATH,
            protocol.upload_request(len(upload.data), upload.content_type),
        )
        # The signed URL may be another host (LightX: S3): it gets no API key.
        put = Send(
            "PUT",
            body["uploadImage"],
            content=upload.data,
            headers={"Content-Type": upload.content_type},
        )
        response = yield from send_with_retries(put, self.retry, idempotent=True)
        protocol.raise_for_plain(response, "upload")
        image_url: str = body["imageUrl"]
        return image_url

    def _removal_flow(
        self,
        image: ImageInput,
        background: ImageInput,
        wait: bool,
        timeout: float,
        options: dict[str, Any],
    ) -> Flow[R]:
        image_url = yield from self._image_url(image)
        if is_image_background(background):
            background = yield from self._upload_flow(background)
        payload = protocol.removal_request(image_url, str(background), options)
        return (yield from self._order(protocol.REMOVE_PATH, payload, wait, timeout))

    def _generation_flow(
        self, image: ImageInput, prompt: str, wait: bool, timeout: float, options: dict[str, Any]
    ) -> Flow[R]:
        image_url = yield from self._image_url(image)
        payload = protocol.generation_request(image_url, prompt, options)
        return (yield from self._order(protocol.GENERATE_PATH, payload, wait, timeout))

    def _status_flow(self, order: str | Order) -> Flow[R]:
        known = _as_order(order)
        body = yield from self._api(
            "POST", protocol.STATUS_PATH, {"orderId": known.order_id}, idempotent=True
        )
        return self._bind(known.updated(body))

    def _wait_flow(self, order: str | Order, timeout: float) -> Flow[R]:
        current = _as_order(order)
        started = self._clock()
        for delay in self.poll.delays(current.avg_response_seconds):
            waited = self._clock() - started
            if waited >= timeout:
                raise OrderTimeout(current, waited)
            yield from sleep(min(delay, timeout - waited))
            current = yield from self._status_flow(current)
            if current.status == "failed":
                raise OrderFailed(current)
            if current.status == "active":
                return self._bind(current)
        raise AssertionError("the poll schedule is endless")  # pragma: no cover

    def _credits_flow(self) -> Flow[float]:
        body = yield from self._api("GET", protocol.ACCOUNT_PATH, None, idempotent=True)
        return float(body["credits"])

    def _download_flow(self, url: str) -> Flow[bytes]:
        response = yield from send_with_retries(Send("GET", url), self.retry, idempotent=True)
        protocol.raise_for_plain(response, "download")
        return response.content

    # -- steps of those flows ------------------------------------------------------------

    def _image_url(self, image: ImageInput) -> Flow[str]:
        if isinstance(image, str) and is_url(image):
            return image
        return (yield from self._upload_flow(image))

    def _order(self, path: str, payload: dict[str, Any], wait: bool, timeout: float) -> Flow[R]:
        body = yield from self._api("POST", path, payload)
        created = Order.from_created(body)
        if not wait:
            return self._bind(created)
        return (yield from self._wait_flow(created, timeout))

    def _api(
        self, method: str, path: str, payload: dict[str, Any] | None, *, idempotent: bool = False
    ) -> Flow[dict[str, Any]]:
        request = Send(
            method, self.base_url + path, json=payload, headers={"x-api-key": self._api_key}
        )
        response = yield from send_with_retries(request, self.retry, idempotent=idempotent)
        return protocol.parse_envelope(response)


def checked_base_url(base_url: str) -> str:
    """`base_url` without a trailing slash; one without http(s):// is refused with the fix.

    httpx would only fail at the first request, as a transport error that reads like a server
    that is down ("could not reach ...").
    """
    url = base_url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise ValueError(
            f"the server address {base_url!r} has no scheme: use http://{url} "
            "(or https:// where the server has TLS)"
        )
    return url


def _as_order(order: str | Order) -> Order:
    return order if isinstance(order, Order) else Order(order_id=order, status="init")
