"""A cut-out subject made into a product photo: laid out on a canvas, its shadow drawn under it,
its light matched to the new background, and the whole composed onto that background.

The order is fixed, because each step needs the one before: the layout decides where the
subject is, the shadow is drawn from the subject where it now stands, and the background goes
under both. The subject's matte gets the same geometry, so result and mask stay aligned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, ImageOps

from backdrop.errors import UnableToProcess
from backdrop.imaging.colors import RGBA
from backdrop.imaging.decode import flatten_alpha
from backdrop.imaging.layout import Layout, Placement, plan
from backdrop.imaging.shadows import (
    FloatArray,
    GroundLayer,
    ShadowSpec,
    UInt8Array,
    ground_layer,
    solid_box,
)

# What the subject goes onto: a colour (RGBA), an image (cover-fitted) or nothing.
StageBackground = RGBA | Image.Image | None

# Rows composed at a time: float32 temporaries stay a few MB on a 40 MP canvas.
_STRIP_PIXELS = 1 << 18
# Light match bounds: exposure within ±10 %, the red/blue balance within ±4 %, so a product's
# colours stay true (a white shirt stays white on a sunset).
_MAX_GAIN = 0.10
_MAX_WARMTH = 0.04


@dataclass(frozen=True)
class Staged:
    output: Image.Image  # "RGB" on an opaque background, else "RGBA"
    mask: Image.Image  # "L": the subject's matte on the canvas (no shadow)
    extent: Image.Image  # "L": subject or shadow, what a crop to the content keeps


def stage(
    cutout: Image.Image,
    *,
    layout: Layout | None = None,
    shadow: ShadowSpec | None = None,
    background: StageBackground = None,
    light_match: bool = False,
    max_pixels: int | None = None,
) -> Staged:
    """`cutout` ("RGBA": the subject's own colours and its matte) laid out, shadowed and put
    on `background`. Raises UnableToProcess when the canvas would be over `max_pixels`."""
    if cutout.mode != "RGBA":
        raise ValueError("stage needs an RGBA cutout")
    if layout is not None:
        alpha = np.asarray(cutout.getchannel("A"))
        try:
            placement = plan(cutout.size, solid_box(alpha), layout, max_pixels)
        except ValueError as error:
            raise UnableToProcess(str(error)) from None
        cutout = place(cutout, placement)
    rgba = np.asarray(cutout)
    alpha = np.ascontiguousarray(rgba[..., 3])
    subject = np.ascontiguousarray(rgba[..., :3])
    width, height = cutout.size
    behind: Image.Image | None = None
    color: RGBA | None = None
    if isinstance(background, Image.Image):
        behind = flatten_alpha(background)
        if behind.size != (width, height):
            behind = ImageOps.fit(behind, (width, height), method=Image.Resampling.LANCZOS)
        if light_match:
            subject = match_light(subject, alpha, np.asarray(behind))
    elif background is not None and background[3] > 0:
        color = background
    ground = ground_layer(alpha, shadow, subject) if shadow is not None else None
    output = _compose(subject, alpha, ground, color, behind)
    extent = alpha if ground is None else np.maximum(alpha, ground.alpha)
    return Staged(output, Image.fromarray(alpha), Image.fromarray(extent))


def place(cutout: Image.Image, placement: Placement) -> Image.Image:
    """The cutout scaled and moved as `placement` says, on an empty canvas.

    The placement is computed from the subject's box (alpha >= 0.5), but everything with any
    alpha goes along: a wisp of hair or a glass rim outside the box is moved, not cut off.
    """
    if placement.identity and cutout.size == placement.canvas:
        return cutout
    content = cutout.getchannel("A").getbbox()
    canvas = Image.new("RGBA", placement.canvas, (0, 0, 0, 0))
    if content is None:
        return canvas
    scale = placement.scale
    left, top, right, bottom = content
    source_left, source_top = placement.source[:2]
    x = placement.offset[0] + round((left - source_left) * scale)
    y = placement.offset[1] + round((top - source_top) * scale)
    size = (max(1, round((right - left) * scale)), max(1, round((bottom - top) * scale)))
    if size == (right - left, bottom - top):
        region = cutout.crop(content)
    else:
        # Pillow resizes RGBA premultiplied: no dark fringe from the transparent pixels.
        region = cutout.resize(size, Image.Resampling.LANCZOS, box=content, reducing_gap=3.0)
    canvas.paste(region, (x, y))
    return canvas


def match_light(subject: UInt8Array, alpha: UInt8Array, background: UInt8Array) -> UInt8Array:
    """The subject's exposure and colour temperature nudged toward the background's, within
    bounds (±10 % exposure, ±4 % red/blue) so the product's own colours stay true."""
    weights = _small(alpha).astype(np.float32)
    if weights.sum() < 1:
        return subject
    mine = np.tensordot(weights, _small(subject).astype(np.float32), axes=([0, 1], [0, 1]))
    mine /= weights.sum()
    theirs = _small(background).reshape(-1, 3).astype(np.float32).mean(axis=0)

    def luma(rgb: FloatArray) -> float:
        return float(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) + 1.0

    gain = float(np.clip((luma(theirs) / luma(mine)) ** 0.25, 1 - _MAX_GAIN, 1 + _MAX_GAIN))
    warmth_theirs = float(theirs[0] - theirs[2]) / luma(theirs)
    warmth_mine = float(mine[0] - mine[2]) / luma(mine)
    shift = float(np.clip(0.25 * (warmth_theirs - warmth_mine), -_MAX_WARMTH, _MAX_WARMTH))
    levels = np.arange(256, dtype=np.float32)
    tables = [levels * gain * (1 + shift), levels * gain, levels * gain * (1 - shift)]
    lut = np.clip(np.stack(tables, axis=1) + 0.5, 0, 255).astype(np.uint8)[None]
    return np.asarray(cv2.LUT(subject, lut), dtype=np.uint8)


def _small(pixels: UInt8Array) -> UInt8Array:
    """A copy of at most ~64k pixels, for statistics."""
    height, width = pixels.shape[:2]
    step = max(1, int(np.sqrt(height * width / 65536)))
    return pixels[::step, ::step]


def _strips(width: int, height: int) -> Iterator[tuple[int, int]]:
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        yield top, min(top + rows, height)


def _compose(
    subject: UInt8Array,
    alpha: UInt8Array,
    ground: GroundLayer | None,
    color: RGBA | None,
    behind: Image.Image | None,
) -> Image.Image:
    """Subject over ground over background (Porter-Duff "over", premultiplied), in strips."""
    height, width = alpha.shape
    opaque = behind is not None or (color is not None and color[3] == 255)
    out = np.empty((height, width, 3 if opaque else 4), np.uint8)
    back = np.asarray(behind) if behind is not None else None
    fill = np.asarray(color[:3] if color else (0, 0, 0), np.float32)
    fill_alpha = np.float32(color[3] / 255 if color else 0.0)
    for top, bottom in _strips(width, height):
        front = alpha[top:bottom, :, None].astype(np.float32) * np.float32(1 / 255)
        if back is not None:
            colour = back[top:bottom].astype(np.float32)  # premultiplied by an alpha of 1
            cover = np.ones_like(front)
        else:
            colour = np.broadcast_to(fill * fill_alpha, (bottom - top, width, 3)).copy()
            cover = np.full_like(front, fill_alpha)
        if ground is not None:
            shade = ground.alpha[top:bottom, :, None].astype(np.float32) * np.float32(1 / 255)
            colour *= 1 - shade
            if ground.color is not None:
                colour += ground.color[top:bottom].astype(np.float32) * shade
            cover = shade + cover * (1 - shade)
        colour *= 1 - front
        colour += subject[top:bottom].astype(np.float32) * front
        cover = front + cover * (1 - front)
        if opaque:
            out[top:bottom] = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
            continue
        np.divide(colour, cover, out=colour, where=cover > 0)
        out[top:bottom, :, :3] = np.clip(colour + 0.5, 0, 255).astype(np.uint8)
        out[top:bottom, :, 3] = np.clip(cover[..., 0] * 255 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "RGB" if opaque else "RGBA")
