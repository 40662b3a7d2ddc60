"""Typed exceptions raised by the SDK; each API error carries LightX's statusCode and message."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backdrop.client.results import Order


class BackdropClientError(Exception):
    """Base of every error the SDK raises."""


class ApiError(BackdropClientError):
    """The server answered with an error envelope `{statusCode, message, body.detail}`."""

    def __init__(self, http_status: int, status_code: int, message: str, detail: str) -> None:
        self.http_status = http_status
        self.status_code = status_code
        self.message = message
        self.detail = detail
        super().__init__(f"{message} ({status_code}, HTTP {http_status}): {detail}")


class InvalidRequest(ApiError):
    """A 4xx the caller can fix: a bad body, an unsupported image, an unknown URL."""


class AuthenticationError(ApiError):
    """The API key is missing, unknown or revoked."""


class InsufficientCredits(ApiError):
    """The key has no credits left for this operation (LightX 5040)."""


class NotFound(ApiError):
    """The order or image does not exist (or belongs to another key, or expired)."""


class RateLimited(ApiError):
    """HTTP 429: still refused after the client's retries."""


class ServerError(ApiError):
    """HTTP 5xx: still failing after the client's retries."""


class TransportError(BackdropClientError):
    """The server could not be reached (connection refused, reset, timed out) after retries."""


class OrderFailed(BackdropClientError):
    """The order finished with status `failed`; `order.reason` says why when the server knows."""

    def __init__(self, order: Order) -> None:
        self.order = order
        self.reason = order.reason or "the server gave no reason"
        super().__init__(f"order {order.order_id} failed: {self.reason}")


class OrderTimeout(BackdropClientError):
    """The order was still pending when the wait's time limit ran out."""

    def __init__(self, order: Order, waited: float) -> None:
        self.order = order
        self.waited = waited
        super().__init__(f"order {order.order_id} still {order.status} after {waited:.0f} s")


# LightX statusCodes that mean the same thing whatever HTTP status carries them
# (LightX itself answers some errors with HTTP 200 and an error statusCode).
_BY_STATUS_CODE: dict[int, type[ApiError]] = {
    4003: AuthenticationError,
    4004: NotFound,
    4005: NotFound,
    # backdrop answers it with HTTP 404 (the image does not exist for this key); to a client
    # it is a bad imageUrl in the request.
    4006: InvalidRequest,
    5040: InsufficientCredits,
}


def error_for(http_status: int, status_code: int, message: str, detail: str) -> ApiError:
    """The most specific ApiError for an error response."""
    cls = _BY_STATUS_CODE.get(status_code)
    if cls is None:
        if http_status in (401, 403):
            cls = AuthenticationError
        elif http_status == 402:
            cls = InsufficientCredits
        elif http_status == 404:
            cls = NotFound
        elif http_status == 429:
            cls = RateLimited
        elif http_status >= 500:
            cls = ServerError
        else:
            cls = InvalidRequest
    return cls(http_status, status_code, message, detail)
