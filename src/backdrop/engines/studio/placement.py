"""Placing the subject in the frame like a product photographer: cut out by its box, scaled to
a sensible share of the frame, centred and standing on the floor.

A photo of a car taken from afar has a tiny subject in a corner; kept where it is it stays tiny
in a huge sweep of backdrop. Placed, its larger side fills `FILL` of the frame and its base
stands on the floor line `FLOOR_LINE`, where the scene puts its floor (the scenes build the
floor from the subject's base, `Stage.base`, so a placed subject always stands on it).

An edge of the subject that touches the frame was cut by the photographer (a portrait cut at
the chest): that edge stays on the frame's edge, and the subject is never shrunk, which would
pull the cut into view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.engines.studio.composite import decontaminate
from backdrop.engines.studio.layers import F
from backdrop.imaging.output import subject_box

# The larger side's share of the frame after placement: 70 % leaves the backdrop room to read
# as a scene and the shadows room to show, as a packshot leaves 15 % or so on each side.
FILL = 0.7
# A subject whose larger side already takes this share is not rescaled (resampling softens
# its pixels for no gain); below it is enlarged to FILL, above it reduced to the band's top.
KEEP_SCALE_BAND = (0.55, 0.8)
# Never enlarge more than twice: past that, resampling a small photo's subject shows as mush.
MAX_UPSCALE = 2.0
# Where a placed subject's base stands (fraction of the height): an eighth of the frame of
# floor in front of it, where its contact and cast shadows show.
FLOOR_LINE = 0.88
# At least this much of the frame above a grounded subject, so its top is not cut.
HEADROOM = 0.06
# A box edge this close to the frame's edge (fraction of the frame, at least a pixel) touches it.
_TOUCH = 0.005


@dataclass(frozen=True)
class Placement:
    """Where the subject's box goes: output pixel = (input - box corner) · scale + (x, y)."""

    box: tuple[int, int, int, int]  # the subject's box in the input: left, top, right, bottom
    scale: float
    x: int  # the placed box's left and top in the output (may be outside the frame)
    y: int
    width: int  # the placed box's size
    height: int


@dataclass(frozen=True)
class _Cuts:
    """Which sides of the subject the frame cuts."""

    left: bool
    top: bool
    right: bool
    bottom: bool

    @property
    def any(self) -> bool:
        return self.left or self.top or self.right or self.bottom


def placement(box: tuple[int, int, int, int], size: tuple[int, int]) -> Placement:
    """Where the subject with bounding box `box` goes in a frame of `size` (width, height)."""
    left, top, right, bottom = box
    width, height = size
    cuts = _cuts(box, size)
    scale = _scale(box, size, cuts)
    placed_w = max(1, round((right - left) * scale))
    placed_h = max(1, round((bottom - top) * scale))
    x = _along(left, right, placed_w, width, cuts.left, cuts.right, centre=(width - placed_w) / 2)
    floor = round(FLOOR_LINE * height) - placed_h
    y = _along(top, bottom, placed_h, height, cuts.top, cuts.bottom, centre=floor)
    return Placement(box, scale, x, y, placed_w, placed_h)


def _cuts(box: tuple[int, int, int, int], size: tuple[int, int]) -> _Cuts:
    left, top, right, bottom = box
    width, height = size
    near_x, near_y = max(1.0, _TOUCH * width), max(1.0, _TOUCH * height)
    return _Cuts(left < near_x, top < near_y, right > width - near_x, bottom > height - near_y)


def _scale(box: tuple[int, int, int, int], size: tuple[int, int], cuts: _Cuts) -> float:
    """How much the subject is enlarged (or reduced): see FILL, KEEP_SCALE_BAND, MAX_UPSCALE."""
    left, top, right, bottom = box
    width, height = size
    share = max((right - left) / width, (bottom - top) / height)
    low, high = KEEP_SCALE_BAND
    scale = 1.0
    if share < low:
        scale = min(FILL / share, MAX_UPSCALE)
    elif share > high:
        scale = high / share
    if cuts.any:
        return max(scale, 1.0)  # shrinking would bring the cut edge into the frame
    if not (cuts.top or cuts.bottom):
        # A grounded subject fits between the headroom and the floor line.
        room = (FLOOR_LINE - HEADROOM) * height / (bottom - top)
        scale = min(scale, room)
    return scale


def _along(
    start: int, end: int, placed: int, frame: int, cut_start: bool, cut_end: bool, centre: float
) -> int:
    """The placed box's start along one axis: a cut side stays on its frame edge."""
    if cut_start and cut_end:  # cut on both sides: enlarged about its middle, still cut
        return round((start + end) / 2 - placed / 2)
    if cut_start:
        return start
    if cut_end:
        return end - placed
    return round(centre)


def place(image: Image.Image, alpha: np.ndarray) -> tuple[F, np.ndarray] | None:
    """The subject moved to its placement: (colours 0..1 (h, w, 3), alpha uint8 (h, w)).

    Its colours are freed of the old background first (in the input, where that background
    can be seen), then resampled premultiplied by alpha, so none of the old background comes
    along into the soft edges. None when the matte is empty (nothing to place).
    """
    box = subject_box(alpha)
    if box is None:
        return None
    where = placement(box, image.size)
    # The box holds alpha >= 0.5; the soft edge around it (hair, a blurred rim) comes along.
    width, height = image.size
    margin = max(4, round(0.02 * max(width, height)))
    left, top, right, bottom = box
    region = (
        max(0, left - margin),
        max(0, top - margin),
        min(width, right + margin),
        min(height, bottom + margin),
    )
    colours, matte = _cut_out(image, alpha, region)
    size = (
        max(1, round((region[2] - region[0]) * where.scale)),
        max(1, round((region[3] - region[1]) * where.scale)),
    )
    colours, matte = _resample(colours, matte, size, where.scale)
    corner = (
        where.x - round((left - region[0]) * where.scale),
        where.y - round((top - region[1]) * where.scale),
    )
    return _paste(colours, matte, corner, image.size)


def _cut_out(
    image: Image.Image, alpha: np.ndarray, region: tuple[int, int, int, int]
) -> tuple[F, F]:
    """The region's colours freed of the old background, and its alpha (0..1)."""
    x0, y0, x1, y1 = region
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)[y0:y1, x0:x1] / 255.0
    a = alpha[y0:y1, x0:x1].astype(np.float32) / 255.0
    return decontaminate(rgb, a), a


def _resample(colours: F, matte: F, size: tuple[int, int], scale: float) -> tuple[F, F]:
    """The region at `size`; unchanged at scale 1, so a moved subject keeps its pixels."""
    if size == (colours.shape[1], colours.shape[0]):
        return colours, matte
    # Lanczos keeps a reduced subject sharp; enlarging, it rings at hard edges, bicubic less.
    method = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    a = np.clip(_resize(matte, size, method), 0.0, 1.0)
    premultiplied = [_resize(colours[..., c] * matte, size, method) for c in range(3)]
    rgb = np.stack(premultiplied, axis=2) / np.maximum(a, 1e-3)[..., None]
    return np.clip(rgb, 0.0, 1.0).astype(np.float32), a


def _resize(values: F, size: tuple[int, int], method: Image.Resampling) -> F:
    return np.asarray(
        Image.fromarray(values.astype(np.float32), mode="F").resize(size, method), np.float32
    )


def _paste(
    colours: F, matte: F, corner: tuple[int, int], size: tuple[int, int]
) -> tuple[F, np.ndarray]:
    """The placed region in an empty frame of `size`; what falls outside the frame is cut."""
    width, height = size
    x, y = corner
    canvas = np.zeros((height, width, 3), dtype=np.float32)
    alpha = np.zeros((height, width), dtype=np.uint8)
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(width, x + matte.shape[1]), min(height, y + matte.shape[0])
    if x1 <= x0 or y1 <= y0:
        return canvas, alpha
    source = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    canvas[y0:y1, x0:x1] = colours[source]
    alpha[y0:y1, x0:x1] = np.clip(matte[source] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return canvas, alpha
