"""Response bodies, so the OpenAPI schema says exactly what each answer holds.

Every answer is LightX's envelope; `extra="forbid"` makes each schema closed, so a client
generator (or schemathesis) can hold the server to it.
"""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

Body = TypeVar("Body", bound=BaseModel)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Envelope(_Closed, Generic[Body]):
    statusCode: Literal[2000]
    message: Literal["SUCCESS"]
    body: Body


class UploadImageUrlBody(_Closed):
    uploadImage: str
    imageUrl: str
    size: int


class OrderCreatedBody(_Closed):
    orderId: str
    maxRetriesAllowed: int
    # Expected seconds until the order is done: the wait for the orders ahead plus its run.
    avgResponseTimeInSec: int
    status: Literal["init"]


class OrderStatusBody(_Closed):
    orderId: str
    status: Literal["init", "active", "failed"]
    output: str | None
    mask: str | None
    # Only on failed orders (beyond LightX).
    reason: str | None = None


class AccountBody(_Closed):
    credits: float


class ModelsBody(_Closed):
    # The model an order without `model` runs (the "balanced" quality).
    defaultModel: str
    # Segmentation model ids whose weights are installed for this server's workers.
    installed: list[str]
    # Quality -> the installed model id to send as `model` for it; a quality whose model is
    # not installed is left out.
    qualities: dict[str, str]


class HealthBody(_Closed):
    status: Literal["ok"]
    version: str


class LiveBody(_Closed):
    status: Literal["ok"]


class ErrorDetail(_Closed):
    detail: str


class ErrorEnvelope(_Closed):
    """Every error: an HTTP status, a LightX-style numeric code and message, and why."""

    statusCode: int
    message: str
    body: ErrorDetail
