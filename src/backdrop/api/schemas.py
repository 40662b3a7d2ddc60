"""Request and response bodies, named as LightX names them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    # Unknown fields are ignored, as a tolerant server should (LightX clients may send more).
    model_config = ConfigDict(extra="ignore")


class UploadImageUrlRequest(_Body):
    uploadType: Literal["imageUrl"] = Field("imageUrl", examples=["imageUrl"])
    size: int = Field(examples=[791436], description="Exact size of the image in bytes (<= 5 MB)")
    contentType: str = Field(
        examples=["image/jpeg"], description="image/jpeg, image/png or image/webp"
    )


class UploadImageUrlBody(BaseModel):
    uploadImage: str
    imageUrl: str
    size: int


class RemoveBackgroundRequest(_Body):
    imageUrl: str = Field(
        max_length=2048, examples=["http://127.0.0.1:8000/images/uploads/3f2a.jpg"]
    )
    background: str | None = Field(
        None,
        max_length=2048,
        description="Empty or 'transparent'; a colour name or hex code; or an image URL from "
        "uploadImageUrl",
        examples=["transparent", "#ffcc00", "lightblue"],
    )


class BackgroundGeneratorRequest(_Body):
    imageUrl: str = Field(max_length=2048)
    textPrompt: str | None = Field(None, examples=["Beautiful sunset over mountains"])


class OrderStatusRequest(_Body):
    orderId: str = Field(max_length=64, examples=["7906da5353b504162db5199d6"])


class OrderCreatedBody(BaseModel):
    orderId: str
    maxRetriesAllowed: int
    avgResponseTimeInSec: int
    status: Literal["init", "active", "failed"]


class OrderStatusBody(BaseModel):
    orderId: str
    status: Literal["init", "active", "failed"]
    output: str | None = None
    mask: str | None = None
    reason: str | None = None


class AccountBody(BaseModel):
    credits: float
