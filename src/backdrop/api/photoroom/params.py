"""Photoroom's request fields, read from a multipart or urlencoded form, or a query string.

`POST /v1/segment` takes a multipart form with `image_file`; `POST /v2/edit` a multipart form
with `imageFile`, and `GET /v2/edit` the same fields (without files) as query parameters.
A parameter backdrop does not implement, or a value outside
the subset it does, is refused with a 400 naming it, never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import UploadFile

from backdrop.errors import InvalidRequest
from backdrop.imaging.layout import Length

# Photoroom writes its flags as the words true and false (any case here).
Flag = Literal["true", "false"]
SegmentFormat = Literal["png", "jpg", "webp"]
SegmentSize = Literal["preview", "medium", "hd", "full"]
ExportFormat = Literal["png", "jpeg", "jpg", "webp"]
ShadowMode = Literal["ai.soft", "ai.hard", "ai.floating"]
_SIDE = r"(0*[1-9][0-9]{0,3}|0*10000)"  # 1..10000 pixels
OUTPUT_SIZE = re.compile(rf"^(auto|originalImage|croppedSubject|{_SIDE}x{_SIDE})$")
# A padding or margin: a fraction 0..0.49, a percentage 0%..49% or pixels 0..10000 ("100px"),
# written without spaces. One pattern, so the schema (examples.py) states exactly what is read.
_UNDER_HALF = r"(?:[0-3][0-9]*|4(?:[0-8][0-9]*)?|490*)"  # the digits after "0." up to 0.49
_FRACTION = rf"0+(?:\.{_UNDER_HALF}?)?|\.{_UNDER_HALF}"
_PERCENT = r"0*(?:[0-9]|[1-3][0-9]|4[0-8])(?:\.[0-9]*)?%|0*49(?:\.0*)?%"
_PIXELS = r"0*(?:[0-9]{1,4}|10000)px"
LENGTH_PATTERN = f"^(?:{_FRACTION}|{_PERCENT}|{_PIXELS})$"
_LENGTH = re.compile(LENGTH_PATTERN)
M = TypeVar("M", bound=BaseModel)
MAX_PIXELS_SIDE = 10_000
SIDES = ("Top", "Right", "Bottom", "Left")


class InvalidCombination(InvalidRequest):
    """Each value is one this server takes, but not together (a query string's schema can
    state each parameter, not how they combine)."""

    message = "INVALID_COMBINATION"


def parse_length(name: str, text: str) -> Length:
    """A Photoroom padding or margin value as a Length; InvalidRequest naming `name`."""
    if _LENGTH.fullmatch(text) is None:
        raise InvalidRequest(
            f"{name}: {text!r} is not a length this server takes: a fraction 0..0.49 (0.1), "
            "a percentage 0%..49% (10%) or pixels 0..10000 (100px), without spaces"
        )
    if text.endswith("px"):
        return Length(float(int(text[:-2])), "px")
    if text.endswith("%"):
        return Length(float(text[:-1]) / 100, "fraction")
    return Length(float(text), "fraction")


class _Fields(BaseModel):
    """Common to both endpoints: unknown names refused, values read as written."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)


class SegmentFields(_Fields):
    """`POST /v1/segment`'s fields besides `image_file`."""

    format: SegmentFormat = "png"
    channels: Literal["rgba", "alpha"] = "rgba"
    bg_color: str | None = None
    size: SegmentSize = "full"
    crop: Flag = "false"
    # Accepted either way: backdrop's foreground-colour estimation already replaces the old
    # background's colour in the subject's soft edges, where a green screen's spill shows.
    despill: Flag = "false"
    # Not Photoroom's: backdrop's segmentation model (`backdrop models list`).
    model: str | None = Field(default=None, max_length=40)


class EditFields(_Fields):
    """`/v2/edit`'s fields besides the files, by Photoroom's names (aliases)."""

    image_url: str | None = Field(default=None, alias="imageUrl")
    remove_background: Flag = Field(default="true", alias="removeBackground")
    background_color: str | None = Field(default=None, alias="background.color")
    background_image_url: str | None = Field(default=None, alias="background.imageUrl")
    background_prompt: str | None = Field(default=None, alias="background.prompt")
    background_seed: int | None = Field(default=None, alias="background.seed", ge=0, le=2**32 - 1)
    background_scaling: Literal["fill"] = Field(default="fill", alias="background.scaling")
    background_blur_mode: Literal["gaussian"] | None = Field(
        default=None, alias="background.blur.mode"
    )
    background_blur_radius: float | None = Field(
        default=None, alias="background.blur.radius", gt=0, le=0.05
    )
    padding: str | None = None
    padding_top: str | None = Field(default=None, alias="paddingTop")
    padding_right: str | None = Field(default=None, alias="paddingRight")
    padding_bottom: str | None = Field(default=None, alias="paddingBottom")
    padding_left: str | None = Field(default=None, alias="paddingLeft")
    margin: str | None = None
    margin_top: str | None = Field(default=None, alias="marginTop")
    margin_right: str | None = Field(default=None, alias="marginRight")
    margin_bottom: str | None = Field(default=None, alias="marginBottom")
    margin_left: str | None = Field(default=None, alias="marginLeft")
    output_size: str = Field(default="auto", alias="outputSize", pattern=OUTPUT_SIZE.pattern)
    max_width: int | None = Field(default=None, alias="maxWidth", ge=1, le=MAX_PIXELS_SIDE)
    max_height: int | None = Field(default=None, alias="maxHeight", ge=1, le=MAX_PIXELS_SIDE)
    scaling: Literal["fit", "fill"] = "fit"
    reference_box: Literal["subjectBox", "originalImage"] = Field(
        default="subjectBox", alias="referenceBox"
    )
    horizontal_alignment: Literal["left", "center", "right"] | None = Field(
        default=None, alias="horizontalAlignment"
    )
    vertical_alignment: Literal["top", "center", "bottom"] | None = Field(
        default=None, alias="verticalAlignment"
    )
    shadow_mode: ShadowMode | None = Field(default=None, alias="shadow.mode")
    # ai.auto: the light match (imaging/staging.py); ai.preserve-hue-and-saturation is
    # refused, since the match nudges colour temperature.
    lighting_mode: Literal["ai.auto"] | None = Field(default=None, alias="lighting.mode")
    export_format: ExportFormat = Field(default="png", alias="export.format")
    export_dpi: int | None = Field(default=None, alias="export.dpi", ge=72, le=1200)
    # Photoroom's defaults, accepted when sent as such (some clients send every default).
    keep_existing_alpha_channel: Literal["never"] = Field(
        default="never", alias="keepExistingAlphaChannel"
    )
    preserve_metadata: Literal["never"] = Field(default="never", alias="preserveMetadata")
    # Not Photoroom's: backdrop's segmentation model (`backdrop models list`).
    model: str | None = Field(default=None, max_length=40)

    def lengths(self, kind: Literal["padding", "margin"]) -> dict[str, Length | None]:
        """Each side's padding or margin (the side's own value, else the general one)."""
        general = getattr(self, kind)
        sides: dict[str, Length | None] = {}
        for side in SIDES:
            name = f"{kind}{side}"
            own = getattr(self, f"{kind}_{side.lower()}")
            if own is not None:
                sides[side.lower()] = parse_length(name, own)
            elif general is not None:
                sides[side.lower()] = parse_length(kind, general)
            else:
                sides[side.lower()] = None
        return sides


def field_names(model: type[BaseModel]) -> list[str]:
    """The names a client writes, in the order they are declared."""
    return [info.alias or name for name, info in model.model_fields.items()]


@dataclass(frozen=True)
class Form:
    """A request's text fields and files, by name."""

    values: dict[str, str]
    files: dict[str, bytes]


async def read_form(request: Request, max_bytes: int) -> Form:
    """The fields of a multipart or urlencoded POST, or of a GET's query string."""
    if request.method == "GET":
        return await _collect(list(request.query_params.multi_items()))
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise InvalidRequest(
            f"Content-Type {content_type or 'none'!r} is not supported; send "
            "multipart/form-data (or application/x-www-form-urlencoded without files)"
        )
    # The files are read before the form (and its spooled files) is closed.
    async with request.form(max_part_size=max_bytes) as form:
        return await _collect(list(form.multi_items()))


async def _collect(items: list[tuple[str, str | UploadFile]]) -> Form:
    values: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for name, value in items:
        if name in values or name in files:
            raise InvalidRequest(f"{name} is given more than once")
        # An empty field is a value like any other (Photoroom refuses an empty padding):
        # nothing is silently dropped.
        if isinstance(value, UploadFile):
            files[name] = await value.read()
        else:
            values[name] = value
    return Form(values, files)


def parse_fields(model: type[M], values: dict[str, str]) -> M:
    """`values` as `model`, each refusal naming its parameter and what this server takes."""
    known = set(field_names(model))
    unknown = sorted(set(values) - known)
    if unknown:
        raise InvalidRequest(
            f"{', '.join(unknown)}: not supported by this server; it takes "
            f"{', '.join(field_names(model))}"
        )
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise InvalidRequest(describe(error)) from None


def describe(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
    )
