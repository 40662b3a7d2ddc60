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
from backdrop.imaging.layout import Length, Region, Sides
from backdrop.kinds import Channels

Size = Literal["auto", "preview", "small", "regular", "medium", "hd", "full", "4k", "50MP"]
ForegroundType = Literal[
    "auto", "person", "product", "animal", "car", "car_interior", "car_part",
    "transportation", "graphics", "other",
]  # fmt: skip
Format = Literal["auto", "png", "jpg", "webp", "zip"]


class RemoveBgFields(BaseModel):
    """The form fields, typed; a value remove.bg would refuse is refused with a reason.

    `semitransparency`: backdrop's matting models give soft alpha wherever the subject is
    see-through (hair, glass, veils), for any subject type; true (the default) keeps it, false
    makes the matte hard (every pixel subject or background), as a cut-out for print needs."""

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
    def _margin_values(cls, value: str) -> str:
        # Checked whether or not `crop` is set: a bad value is a bad request either way.
        crop_margins(value)
        return value

    @field_validator("roi")
    @classmethod
    def _roi_values(cls, value: str) -> str:
        region(value)
        return value

    @field_validator("scale")
    @classmethod
    def _scale_value(cls, value: str) -> str:
        subject_scale(value)
        return value

    @field_validator("position")
    @classmethod
    def _position_value(cls, value: str) -> str:
        subject_position(value)
        return value

    @property
    def margins(self) -> Sides:
        """crop_margin per side, capped as remove.bg caps it."""
        return crop_margins(self.crop_margin)

    @property
    def margin_pixels(self) -> int | None:
        """crop_margin as one number of pixels when it is that (the plain crop), else None."""
        margins = self.margins
        if margins.top.unit == "px" and margins == Sides.all(margins.top):
            return round(margins.top.value)
        return None

    def check_supported(self) -> None:
        """Every remove.bg option is honoured now; kept so the route's call reads as before."""


_VALUE = re.compile(r"^(\d+(?:\.\d+)?)(px|%)?$")
# remove.bg: "The maximum margin that can be added on each side is 50% of the subject
# dimensions or 500 pixels."
MAX_MARGIN_FRACTION = 0.5
MAX_MARGIN_PIXELS = 500


def _values(text: str, name: str, example: str) -> list[Length]:
    """Space-separated lengths: "30px" or "30" (pixels), "10%" (a fraction)."""
    lengths = []
    # "30 px" and "10 %" are one value each, as remove.bg reads them.
    for part in re.sub(r"(?<=\d)\s+(?=px|%)", "", text).split():
        match = _VALUE.match(part)
        if match is None:
            raise ValueError(f"{name} {text!r}: give pixels or percentages, e.g. {example}")
        number = float(match.group(1))
        if match.group(2) == "%":
            lengths.append(Length(number / 100, "fraction"))
        else:
            lengths.append(Length(number, "px"))
    return lengths


def crop_margins(text: str) -> Sides:
    """remove.bg's crop_margin: 1, 2 (top/bottom, left/right) or 4 (top, right, bottom, left)
    values, pixels or % of the subject's size, each capped at 50 % or 500 px."""
    values = _values(text, "crop_margin", "30px, 10% or 10px 20px")
    if len(values) not in (1, 2, 4):
        raise ValueError(f"crop_margin {text!r}: give 1, 2 or 4 values")

    def capped(length: Length) -> Length:
        if length.unit == "px":
            return Length(min(length.value, MAX_MARGIN_PIXELS), "px")
        return Length(min(length.value, MAX_MARGIN_FRACTION), "subject")

    sides = [capped(length) for length in values]
    if len(sides) == 1:
        return Sides.all(sides[0])
    if len(sides) == 2:
        return Sides(sides[0], sides[1], sides[0], sides[1])
    return Sides(*sides)


def region(text: str) -> Region | None:
    """remove.bg's roi "x1 y1 x2 y2" (px or % of the image); None for the whole image."""
    values = _values(text, "roi", "10% 10% 90% 90% or 0px 0px 400px 300px")
    if len(values) != 4:
        raise ValueError(f"roi {text!r}: give 4 values, x1 y1 x2 y2")
    if any(v.unit == "fraction" and v.value > 1 for v in values):
        raise ValueError(f"roi {text!r}: percentages are between 0% and 100%")
    left, top, right, bottom = values
    for near, far in ((left, right), (top, bottom)):
        if near.unit == far.unit and near.value >= far.value:
            raise ValueError(f"roi {text!r}: x2 must be right of x1 and y2 below y1")
    whole = Region(Length(0), Length(0), Length(1), Length(1))
    found = Region(left, top, right, bottom)
    return None if found == whole else found


def subject_scale(text: str) -> float | None:
    """remove.bg's scale: "10%" to "100%", or "original" (None)."""
    # Whitespace around the word is allowed, as around numbers (the schema says so too).
    if text.strip() == "original":
        return None
    values = _values(text, "scale", "80% or original")
    if len(values) != 1 or values[0].unit != "fraction" or not 0.1 <= values[0].value <= 1.0:
        raise ValueError(f"scale {text!r}: give a value from 10% to 100%, or original")
    return values[0].value


def subject_position(text: str) -> tuple[float, float] | None:
    """remove.bg's position: "original" (None), "center", or one or two values 0%..100%."""
    word = text.strip()
    if word == "original":
        return None
    if word == "center":
        return 0.5, 0.5
    values = _values(text, "position", "center, 50% or 0% 100%")
    if len(values) not in (1, 2) or any(v.unit != "fraction" or v.value > 1 for v in values):
        raise ValueError(
            f"position {text!r}: give original, center, or one or two values from 0% to 100%"
        )
    return values[0].value, values[-1].value


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
