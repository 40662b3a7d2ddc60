"""What a remove-background result finally looks like: cropped, sized, which channels, encoded.

Pure image operations on the pipeline's output and mask; the defaults (PNG, no crop, full
size, RGBA) leave a LightX result as it is. The mask always gets the same crop and size as
the output, so the two stay aligned pixel for pixel; it is always a greyscale PNG.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from PIL import Image

from backdrop.errors import UnableToProcess
from backdrop.imaging.compose import encode_jpeg, encode_png
from backdrop.imaging.layout import Layout, Region, layout_from_params
from backdrop.imaging.shadows import ShadowSpec
from backdrop.kinds import Channels, OutputFormat

CONTENT_TYPES: dict[OutputFormat, str] = {
    "png": "image/png",
    "webp": "image/webp",
    "jpg": "image/jpeg",
}
# remove.bg's "preview" size: a long side of 625 pixels.
PREVIEW_LONG_SIDE = 625
# A pixel belongs to the subject's bounding box from alpha 0.5 up.
_SUBJECT_ALPHA = 128
_WEBP_QUALITY = 90
WEBP_MAX_SIDE = 16383  # the format's limit


@dataclass(frozen=True)
class OutputOptions:
    """How the client wants the result (all optional beyond LightX)."""

    format: OutputFormat = "png"
    crop: bool = False
    crop_margin: int = 0  # pixels of the input image kept around the subject when cropping
    max_side: int | None = None  # longest side of the result; None = the input's size
    channels: Channels = "rgba"
    # Where the subject goes on the canvas, and the shadow under it; None: as it was.
    layout: Layout | None = None
    shadow: ShadowSpec | None = None
    # The subject's exposure and colour temperature nudged toward an image background.
    light_match: bool = False
    # remove.bg's roi: only this region of the input can be subject; None: all of it.
    roi: Region | None = None
    # remove.bg's semitransparency: False makes the matte hard (alpha 0 or 255).
    semitransparency: bool = True

    @property
    def staged(self) -> bool:
        """Whether the result is made by the product stage (imaging/staging.py): without a
        layout, shadow, light match, roi or hard matte, the removal's result is used as is."""
        return (
            self.layout is not None
            or self.shadow is not None
            or self.light_match
            or self.roi is not None
            or not self.semitransparency
        )

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def to_params(self) -> dict[str, Any]:
        """JSON for the order's params."""
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict[str, Any] | None) -> OutputOptions:
        """The options stored by `to_params`; an order stored without them gets the defaults."""
        if not params:
            return cls()
        values = dict(params)
        layout, shadow = values.pop("layout", None), values.pop("shadow", None)
        roi = values.pop("roi", None)
        return cls(
            **values,
            layout=layout_from_params(layout) if layout else None,
            shadow=ShadowSpec(**shadow) if shadow else None,
            roi=Region.from_params(roi) if roi else None,
        )


@dataclass(frozen=True)
class Rendered:
    output: bytes
    mask: bytes
    options: OutputOptions


def max_side_for(size: str | int | None) -> int | None:
    """The API's `size` ("preview", "full" or a long side in pixels) as a maximum long side."""
    if size is None or size == "full":
        return None
    if size == "preview":
        return PREVIEW_LONG_SIDE
    if isinstance(size, int) and size >= 1:
        return size
    raise ValueError(f"size must be 'preview', 'full' or a positive integer, not {size!r}")


def subject_box(alpha: np.ndarray, margin: int = 0) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) around alpha >= 0.5, grown by `margin`, clamped to the image.

    None when no pixel reaches 0.5 (nothing to crop to).
    """
    solid = alpha >= _SUBJECT_ALPHA
    rows = np.flatnonzero(solid.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(solid.any(axis=0))
    height, width = alpha.shape
    return (
        max(int(cols[0]) - margin, 0),
        max(int(rows[0]) - margin, 0),
        min(int(cols[-1]) + 1 + margin, width),
        min(int(rows[-1]) + 1 + margin, height),
    )


def fitted_size(size: tuple[int, int], max_side: int | None) -> tuple[int, int]:
    """`size` scaled down (never up) so its long side is at most `max_side`."""
    width, height = size
    if max_side is None or max(width, height) <= max_side:
        return size
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def render(
    output: Image.Image,
    mask: Image.Image,
    options: OutputOptions,
    extent: Image.Image | None = None,
) -> Rendered:
    """Crop, resize, pick channels and encode the pipeline's output and mask ("L").

    `extent` ("L", subject or shadow) is what a crop keeps when a shadow was drawn; on a
    staged result the alpha channel asked for is the result's own (its shadow included).
    """
    if options.crop:
        box = subject_box(np.asarray(extent if extent is not None else mask), options.crop_margin)
        if box is not None:
            output, mask = output.crop(box), mask.crop(box)
    target = fitted_size(output.size, options.max_side)
    if target != output.size:
        # Pillow resizes RGBA premultiplied, so no dark fringe comes from transparent pixels.
        output = output.resize(target, Image.Resampling.LANCZOS)
        mask = mask.resize(target, Image.Resampling.LANCZOS)
    if options.channels == "alpha":
        output = output.getchannel("A") if options.staged and output.mode == "RGBA" else mask
    return Rendered(encode(output, options.format), encode_png(mask), options)


def encode(image: Image.Image, fmt: OutputFormat) -> bytes:
    """The image as `fmt`; JPEG, which has no alpha, is flattened onto white."""
    if fmt == "jpg":
        return encode_jpeg(image)
    if fmt == "webp":
        if max(image.size) > WEBP_MAX_SIDE:
            raise UnableToProcess(
                f"a WebP image is at most {WEBP_MAX_SIDE} pixels a side, this one is "
                f"{image.width}x{image.height}; ask for a smaller size or another format"
            )
        buffer = io.BytesIO()
        # WebP has no greyscale mode; alpha is stored losslessly (Pillow's alpha_quality=100).
        webp = image if image.mode in ("RGB", "RGBA") else image.convert("RGB")
        webp.save(buffer, format="WEBP", quality=_WEBP_QUALITY)
        return buffer.getvalue()
    return encode_png(image)
