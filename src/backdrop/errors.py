"""Domain errors. Each carries its HTTP status and a LightX-style numeric statusCode.

One handler in the api layer renders them all in the LightX envelope
`{"statusCode": ..., "message": ..., "body": {"detail": ...}}`.
"""

from __future__ import annotations

import errno
import math
import re
from collections.abc import Mapping

# An absolute path inside a message (not a URL path: those follow a host or a backtick).
_SERVER_PATH = re.compile(r"(?<![\w`:/])/[^\s;,'`]+")


class BackdropError(Exception):
    """Base of every error a client may see."""

    http_status: int = 400
    status_code: int = 4000
    message: str = "INVALID_REQUEST"

    def __init__(self, detail: str | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.detail = detail or self.message.replace("_", " ").lower()
        # Sent with the error (Retry-After, X-RateLimit-*).
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.detail)

    @property
    def public_detail(self) -> str:
        """The detail as a client may read it (the whole detail goes to the operator's log)."""
        return self.detail


class InvalidRequest(BackdropError):
    """The body is malformed or a field is out of range."""


class InvalidApiKey(BackdropError):
    http_status = 403
    status_code = 4003
    message = "INVALID_API_KEY"


class OrderNotFound(BackdropError):
    http_status = 404
    status_code = 4004
    message = "ORDER_NOT_FOUND"


class ImageNotFound(BackdropError):
    http_status = 404
    status_code = 4005
    message = "IMAGE_NOT_FOUND"


class InvalidImageUrl(BackdropError):
    """An imageUrl that this server did not issue to the calling key (or that expired).

    404: the request is well formed; the image it names does not exist for this key.
    """

    http_status = 404
    status_code = 4006
    message = "INVALID_IMAGE_URL"


class InvalidSignature(BackdropError):
    http_status = 403
    status_code = 4007
    message = "INVALID_OR_EXPIRED_SIGNATURE"


class InvalidColor(BackdropError):
    status_code = 4008
    message = "INVALID_BACKGROUND"


class CorruptImage(BackdropError):
    status_code = 4009
    message = "INVALID_IMAGE"


class UploadSizeMismatch(BackdropError):
    status_code = 4010
    message = "SIZE_MISMATCH"


class PayloadTooLarge(BackdropError):
    http_status = 413
    status_code = 4013
    message = "IMAGE_TOO_LARGE"


class ImageTooLarge(BackdropError):
    """The image decodes to more pixels than the server accepts."""

    http_status = 413
    status_code = 4014
    message = "IMAGE_DIMENSIONS_TOO_LARGE"


class UnsupportedMediaType(BackdropError):
    http_status = 415
    status_code = 4015
    message = "UNSUPPORTED_MEDIA_TYPE"


class UnknownModel(BackdropError):
    status_code = 4020
    message = "UNKNOWN_MODEL"


class CreditsConsumed(BackdropError):
    http_status = 402
    status_code = 5040
    message = "API_CREDITS_CONSUMED"


class InvalidPrompt(BackdropError):
    status_code = 5041
    message = "INVALID_PROMPTS_DETECTED"


class UnableToProcess(BackdropError):
    """The image was accepted but could not be processed (e.g. a model failure)."""

    http_status = 422
    status_code = 5044
    message = "UNABLE_TO_PROCESS"


class WeightsUnavailable(BackdropError):
    """Model weights are missing or failed verification."""

    http_status = 503
    status_code = 5030
    message = "MODEL_UNAVAILABLE"

    @property
    def public_detail(self) -> str:
        # The detail names paths on the server (where the weights were looked for).
        # Words, not a placeholder: "installed in a location on the server (see its log)".
        return _SERVER_PATH.sub("a location on the server (see its log)", self.detail)


class NotEnoughMemory(WeightsUnavailable):
    """A derivation (an int8 graph made at fetch time) would need more memory than is free."""


class ServiceUnavailable(BackdropError):
    http_status = 503
    status_code = 5031
    message = "SERVICE_UNAVAILABLE"

    def __init__(self, detail: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail, {"Retry-After": retry_seconds(retry_after or 1)})


class ClientGone(BackdropError):
    """The client hung up before its one-call answer was ready; nobody reads this answer."""

    # nginx's "client closed request": logged, never delivered.
    http_status = 499
    status_code = 4990
    message = "CLIENT_CLOSED_REQUEST"


class InsufficientStorage(BackdropError):
    """A write failed because the disk (or the database's disk) is full.

    507, not 500: nothing is wrong with the request, and the client may retry it unchanged
    once the operator has freed space.
    """

    http_status = 507
    status_code = 5070
    message = "INSUFFICIENT_STORAGE"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "the server's storage is full; try again later")


# Lack of space as the layers below report it. Files: ENOSPC, and EDQUOT (a quota is a full
# disk for this process). SQLite: SQLITE_FULL, "database or disk is full". PostgreSQL: SQLSTATE
# 53100 disk_full (class 53, insufficient resources).
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = 13
_POSTGRES_DISK_FULL = "53100"


def storage_full(error: BaseException) -> InsufficientStorage | None:
    """An InsufficientStorage for `error` when it (or what it wraps) is a lack of space.

    The one place that knows how each layer says "full". It reads attributes rather than
    importing drivers, so the ground stays free of them: SQLAlchemy keeps the driver's error
    in `.orig`, sqlite3 sets `sqlite_errorcode`, psycopg sets `sqlstate` (psycopg2 `pgcode`).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, InsufficientStorage):
            return current
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return InsufficientStorage()
        sqlite_code = getattr(current, "sqlite_errorcode", None)
        # The low byte is the primary code; extended codes add detail above it.
        if isinstance(sqlite_code, int) and sqlite_code & 0xFF == _SQLITE_FULL:
            return InsufficientStorage()
        codes = (getattr(current, "sqlstate", None), getattr(current, "pgcode", None))
        if _POSTGRES_DISK_FULL in codes:
            return InsufficientStorage()
        orig = getattr(current, "orig", None)
        # Only what an error says it wraps: an implicit __context__ may be an unrelated error
        # that was being handled when this one happened.
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return None


class RateLimited(BackdropError):
    """A limit of the key (or of the client address) is reached; try again after Retry-After."""

    http_status = 429
    status_code = 4029
    message = "RATE_LIMIT_EXCEEDED"


def retry_seconds(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least 1."""
    return str(max(1, math.ceil(seconds)))
