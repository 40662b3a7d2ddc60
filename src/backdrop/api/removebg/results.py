"""From remove.bg's fields to backdrop's output options, and from the order's files back to
remove.bg's answer (the image, or JSON with it in base64), with its X- headers."""

from __future__ import annotations

import base64
import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.api.removebg.params import (
    RemoveBgFields,
    region,
    subject_position,
    subject_scale,
)
from backdrop.imaging.colors import parse_color
from backdrop.imaging.layout import Layout
from backdrop.imaging.output import OutputOptions, subject_box
from backdrop.imaging.shadows import ShadowSpec
from backdrop.kinds import OutputFormat

# remove.bg's sizes, in megapixels of the result; the others give the input's resolution.
_MEGAPIXELS = {"preview": 0.25, "small": 0.25, "regular": 0.25, "medium": 1.5, "hd": 4.0}
ZIP_TYPE = "application/zip"


def max_side(size: str, width: int, height: int) -> int | None:
    """The long side that keeps a `width` x `height` image within `size`'s megapixels."""
    megapixels = _MEGAPIXELS.get(size)
    if megapixels is None or width * height <= megapixels * 1_000_000:
        return None
    scale = math.sqrt(megapixels * 1_000_000 / (width * height))
    return max(1, math.floor(max(width, height) * scale))


def is_opaque(fields: RemoveBgFields, background_image: bool) -> bool:
    """Whether the result has no transparency (remove.bg's `auto` format is then JPEG)."""
    if fields.channels == "alpha":
        return False
    if background_image:
        return True
    return fields.bg_color is not None and parse_color(fields.bg_color)[3] == 255


def output_options(
    fields: RemoveBgFields, width: int, height: int, *, background_image: bool
) -> OutputOptions:
    fmt: OutputFormat
    if fields.format in ("jpg", "zip"):
        fmt = "jpg"  # a zip holds color.jpg and alpha.png
    elif fields.format == "auto":
        fmt = "jpg" if is_opaque(fields, background_image) else "png"
    else:
        fmt = "webp" if fields.format == "webp" else "png"
    plain_margin = fields.margin_pixels
    layout = _layout(fields, plain_margin)
    return OutputOptions(
        format=fmt,
        # A crop whose margin is one number of pixels is the plain crop; any other margin
        # (%, per side) is a layout of the subject's box.
        crop=fields.crop and layout is None,
        crop_margin=plain_margin or 0 if fields.crop and layout is None else 0,
        max_side=max_side(fields.size, width, height),
        channels=fields.channels,
        layout=layout,
        shadow=REMOVEBG_SHADOW if fields.add_shadow else None,
        roi=region(fields.roi),
        semitransparency=fields.semitransparency,
    )


# remove.bg's add_shadow: a soft shadow on the floor under the subject, for any subject type.
REMOVEBG_SHADOW = ShadowSpec("contact", opacity=0.65, softness=0.5)


def _layout(fields: RemoveBgFields, plain_margin: int | None) -> Layout | None:
    """The layout remove.bg's crop, crop_margin, scale and position ask for; None: as is.

    A crop wins over scale and position (it makes the canvas the subject's box)."""
    if fields.crop:
        if plain_margin is not None:
            return None
        return Layout(canvas="subject", padding=fields.margins)
    scale = subject_scale(fields.scale)
    position = subject_position(fields.position)
    if scale is None and position is None:
        return None
    if (
        scale is not None
        and fields.position == "original"
        and "position" in fields.model_fields_set
    ):
        # Scaled where it stands (remove.bg centres a scaled subject unless told otherwise).
        return Layout(canvas="original", scale=scale, keep_place=True, max_upscale=_UPSCALE)
    return Layout(
        canvas="original", scale=scale, position=position or (0.5, 0.5), max_upscale=_UPSCALE
    )


# A scale asks for a size outright: a small subject may be enlarged up to this much for it.
_UPSCALE = 4.0


@dataclass(frozen=True)
class Answer:
    """What the endpoint sends back: the bytes, their type and remove.bg's headers."""

    content: bytes
    media_type: str
    width: int
    height: int
    foreground: tuple[int, int, int, int]  # top, left, width, height

    def headers(self, credits: float, detected_type: str) -> dict[str, str]:
        top, left, width, height = self.foreground
        return {
            "X-Type": detected_type,
            "X-Width": str(self.width),
            "X-Height": str(self.height),
            "X-Credits-Charged": f"{credits:g}",
            "X-Foreground-Top": str(top),
            "X-Foreground-Left": str(left),
            "X-Foreground-Width": str(width),
            "X-Foreground-Height": str(height),
        }

    def json(self) -> dict[str, object]:
        top, left, width, height = self.foreground
        return {
            "data": {
                "result_b64": base64.b64encode(self.content).decode("ascii"),
                "foreground_top": top,
                "foreground_left": left,
                "foreground_width": width,
                "foreground_height": height,
            }
        }


def answer(output: bytes, mask: bytes, options: OutputOptions, zipped: bool) -> Answer:
    """remove.bg's answer from the order's output and mask (a PNG of the same size)."""
    alpha = np.asarray(Image.open(io.BytesIO(mask)).convert("L"))
    height, width = alpha.shape
    box = subject_box(alpha)
    foreground = (0, 0, 0, 0) if box is None else (box[1], box[0], box[2] - box[0], box[3] - box[1])
    if zipped:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("color.jpg", output)
            archive.writestr("alpha.png", mask)
        return Answer(buffer.getvalue(), ZIP_TYPE, width, height, foreground)
    return Answer(output, options.content_type, width, height, foreground)
