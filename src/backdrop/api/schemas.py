"""Request and response bodies, named as LightX names them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from backdrop.kinds import DEFAULT_MODEL, Channels, OutputFormat
from backdrop.settings import MAX_UPLOAD_BYTES


class _Body(BaseModel):
    # Unknown fields are ignored, as a tolerant server should (LightX clients may send more).
    model_config = ConfigDict(extra="ignore")


# What uploadImageUrl accepts as contentType. The field stays a string so that another type
# is answered 415 UNSUPPORTED_MEDIA_TYPE (as before), while the schema lists exactly these.
CONTENT_TYPES: list[JsonValue] = [
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/jpg",
    "image/pjpeg",
]
# Image URLs are ones this server handed out: absolute http(s) URLs.
IMAGE_URL = r"^https?://[^\s]+$"


class UploadImageUrlRequest(_Body):
    uploadType: Literal["imageUrl"] = Field("imageUrl", examples=["imageUrl"])
    size: int = Field(
        ge=1,
        le=MAX_UPLOAD_BYTES,
        examples=[791436],
        description="Exact size of the image in bytes (<= 5 MB)",
    )
    contentType: str = Field(
        examples=["image/jpeg"],
        description="image/jpeg, image/png or image/webp",
        json_schema_extra={"enum": CONTENT_TYPES},
    )


class RemoveBackgroundRequest(_Body):
    imageUrl: str = Field(
        max_length=2048,
        pattern=IMAGE_URL,
        examples=["http://127.0.0.1:8000/images/uploads/3f2a.jpg"],
    )
    background: str | None = Field(
        None,
        max_length=2048,
        description="Empty or 'transparent'; a colour name or hex code; or an image URL from "
        "uploadImageUrl",
        examples=["transparent", "#ffcc00", "lightblue"],
    )
    # Optional fields beyond LightX; a LightX client never sends them, so its results stay
    # PNG, uncropped, full size, RGBA, from the server's default model.
    model: str | None = Field(
        None,
        max_length=40,
        description="Segmentation model id (`backdrop models list`); default: the server's",
        examples=[DEFAULT_MODEL],
    )
    format: OutputFormat | None = Field(
        None, description="Output format; jpg has no alpha and is flattened onto white"
    )
    crop: bool | None = Field(
        None, description="Crop output and mask to the subject (alpha >= 0.5) plus cropMargin"
    )
    cropMargin: int | None = Field(
        None, ge=0, le=10_000, description="Pixels of the input kept around the subject"
    )
    size: Literal["preview", "full"] | Annotated[int, Field(ge=1, le=20_000)] | None = Field(
        None,
        description="preview (long side 625), full (the input's size, default) or a maximum "
        "long side in pixels; never enlarges",
        examples=["preview", 1500],
    )
    channels: Channels | None = Field(
        None, description="rgba (default) or alpha: the output is the matte only"
    )


class _GenerationOptions(_Body):
    """Optional fields beyond LightX; a LightX client never sends them."""

    seed: int | None = Field(
        # At most 2**53 - 1: larger integers lose digits in JSON parsers that read numbers
        # as doubles (JavaScript, and schema-driven test generators).
        None,
        ge=0,
        le=2**53 - 1,
        description="Same seed and inputs give the same image",
    )
    negativePrompt: str | None = Field(
        None, description="What the diffusion engine should avoid", examples=["text, watermark"]
    )
    styleImageUrl: str | None = Field(
        None,
        max_length=2048,
        description="An uploaded image whose palette and light the background takes (studio)",
    )
    engine: str | None = Field(
        None, max_length=40, description="studio (default) or diffusion", examples=["studio"]
    )
    framing: Literal["place", "keep"] | None = Field(
        None,
        description="place (default): the subject is scaled to a good share of the frame, "
        "centred and stood on the scene's floor; keep: it stays where and as large as it is "
        "in the photo. The diffusion engine always keeps it.",
        examples=["place"],
    )


class BackgroundGeneratorRequest(_GenerationOptions):
    imageUrl: str = Field(max_length=2048, pattern=IMAGE_URL)
    textPrompt: str | None = Field(None, examples=["Beautiful sunset over mountains"])


class ProductPhotoshootRequest(_GenerationOptions):
    """LightX's product photoshoot: a prompt, a style image, or both."""

    imageUrl: str = Field(max_length=2048, pattern=IMAGE_URL)
    textPrompt: str | None = Field(None, examples=["white marble countertop, morning light"])


class OrderStatusRequest(_Body):
    orderId: str = Field(max_length=64, examples=["7906da5353b504162db5199d6"])
