"""remove.bg's request fields, read from a multipart form, a urlencoded form or JSON.

remove.bg's clients send all three: multipart with `image_file` (curl -F, the npm client's
file call), urlencoded (the PyPI client's URL and base64 calls) and JSON (the npm client's
URL and base64 calls). Fields left empty count as not given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.datastructures import UploadFile

from backdrop.errors import InvalidRequest
from backdrop.kinds import Channels

Size = Literal["auto", "preview", "small", "regular", "medium", "hd", "full", "4k", "50MP"]
ForegroundType = Literal[
    "auto", "person", "product", "animal", "car", "car_interior", "car_part",
    "transportation", "graphics", "other",
]  # fmt: skip
Format = Literal["auto", "png", "jpg", "webp", "zip"]
_PIXELS = re.compile(r"^\s*(\d+)\s*(px)?\s*$")
_FULL_ROI = ("0% 0% 100% 100%", "0%  0% 100% 100%")


class RemoveBgFields(BaseModel):
    """The form fields, typed; values remove.bg documents but backdrop cannot honour are
    refused with a reason rather than silently ignored."""

    model_config = ConfigDict(extra="ignore")

    image_url: str | None = None
    image_file_b64: str | None = None
    size: Size = "auto"
    type: ForegroundType = "auto"
    type_level: Literal["none", "1", "2", "latest"] = "1"
    format: Format = "auto"
    roi: str = "0% 0% 100% 100%"
    crop: bool = False
    crop_margin: str = "0"
    scale: str = "original"
    position: str = "original"
    channels: Channels = "rgba"
    bg_color: str | None = None
    bg_image_url: str | None = None
    add_shadow: bool = False
    semitransparency: bool = True
    # Not remove.bg's: backdrop's segmentation model (`backdrop models list`).
    model: str | None = Field(default=None, max_length=40)

    @field_validator("crop_margin", mode="before")
    @classmethod
    def _margin_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @field_validator("crop_margin")
    @classmethod
    def _margin_in_pixels(cls, value: str) -> str:
        # Checked whether or not `crop` is set: a bad value is a bad request either way.
        if _PIXELS.match(value) is None:
            raise ValueError(
                f"{value!r}: give pixels, e.g. 30px (percentages are not supported by this server)"
            )
        return value

    @property
    def margin_pixels(self) -> int:
        match = _PIXELS.match(self.crop_margin)
        if match is None:
            raise InvalidRequest(
                f"crop_margin {self.crop_margin!r}: give pixels, e.g. 30px "
                "(percentages are not supported by this server)"
            )
        return min(int(match.group(1)), 10_000)

    def check_supported(self) -> None:
        """Refuse the remove.bg options this server does not implement, saying which."""
        if " ".join(self.roi.split()) not in _FULL_ROI:
            raise InvalidRequest("roi is not supported by this server; leave it out")
        if self.scale != "original" or self.position not in ("original", "center"):
            raise InvalidRequest("scale and position are not supported; leave them out")
        if self.add_shadow:
            raise InvalidRequest("add_shadow is not supported by this server; leave it out")


@dataclass(frozen=True)
class RemoveBgRequest:
    fields: RemoveBgFields
    image_file: bytes | None
    bg_image_file: bytes | None


async def read_request(request: Request, max_bytes: int) -> RemoveBgRequest:
    """The fields and files of a remove.bg request, whatever its encoding."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    values: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    if content_type == "application/json":
        try:
            data = await request.json()
        except (ValueError, RecursionError):
            # RecursionError: arrays or objects nested deeper than the parser goes.
            raise InvalidRequest("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise InvalidRequest("the JSON body must be an object")
        values = dict(data)
    elif content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        # Base64 images arrive as plain fields, so a field may be as large as a file.
        async with request.form(max_part_size=max_bytes) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[name] = await value.read()
                else:
                    values[name] = value
    elif content_type:
        raise InvalidRequest(
            f"Content-Type {content_type!r} is not supported; send multipart/form-data, "
            "application/x-www-form-urlencoded or application/json"
        )
    given = {name: value for name, value in values.items() if value not in ("", None)}
    try:
        # JSON has real booleans and numbers, so it is read strictly (as the schema says);
        # a form carries text, which pydantic reads as remove.bg does ("true", "0", ...).
        fields = RemoveBgFields.model_validate(given, strict=content_type == "application/json")
    except ValidationError as error:
        raise InvalidRequest(_describe(error)) from None
    return RemoveBgRequest(fields, files.get("image_file"), files.get("bg_image_file"))


def _describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
    )
