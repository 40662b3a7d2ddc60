"""From a model's low-resolution prediction to a clean full-resolution alpha.

Each step is a plain array function, measured on the dev sets (bench/RESULTS.md) and kept
because it paid; `refine_alpha` chains them as `RefineSettings` says:

1. `stretch`: min-max stretch of the prediction (rembg does it; it lifts faint subjects).
2. resize to the photo's size (area when shrinking, bilinear when enlarging).
3. `guided_filter`: edge-aware smoothing with the photo as guide, so the matte's edges follow
   the photo's edges at full resolution while soft edges (hair, fur, blur) stay soft.
4. `contrast`: a linear ramp that sends near-0 haze to 0 and near-1 to 1 (the sure regions),
   keeping the soft band in between; optionally centred, per photo, on the level whose
   contour follows the photo's edges (engines/edge_level.py).
5. `remove_specks` / `fill_holes`: connected components of the subject (alpha >= 0.5) far
   smaller than the largest one are dropped (or, inside a half-transparent smear joined to
   the subject, lowered to the smear's level); enclosed background holes smaller than a
   share of the subject are filled.

OpenCV (`cv2`) does the box filters, resizing and connected components; it is imported
where used, so the settings can be imported (by the model table) without it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Mask = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class RefineSettings:
    """What `refine_alpha` does; `None`/0 turns a step off."""

    stretch: bool = True
    guided_radius: int = 0  # in pixels of the output; 0 = off
    guided_eps: float = 1e-3
    contrast_low: float = 0.0
    contrast_high: float = 1.0
    speck_fraction: float = 0.0  # drop components smaller than this share of the largest
    hole_fraction: float = 0.0  # fill holes smaller than this share of the subject
    # The ramp's centre moved per photo to the one of these levels whose contour follows the
    # photo's edges, if it does `edge_gate` times better than 0.5's (engines/edge_level.py).
    edge_levels: tuple[float, ...] = ()  # () = the ramp stays where it is
    edge_gate: float = 1.5


RAW = RefineSettings(stretch=False)
# What the built-in ISNet engines use (measured on the dev sets: bench/RESULTS.md).
# Guided filtering and hole filling did not pay there (boundary F down on sod_bsds, mixed on
# davis); the ramp is narrow because the masks scored are binary, and still leaves soft edges.
DEFAULT_REFINE = RefineSettings(contrast_low=0.4, contrast_high=0.6, speck_fraction=0.05)
# `--quality best`'s: the default's, with the ramp's centre at 0.4, 0.5 or 0.6, whichever
# contour follows the photo's edges 1.5 times better than 0.5's (engines/edge_level.py). On
# the whole dev sets, after mirror averaging, it raised IoU and boundary F on all three
# (against the colour-guided edge filter it replaced: IoU +0.002..+0.005, boundary F
# +0.002..+0.008); MAE moved -0.0008..+0.0009 (bench/BEST.md).
BEST_REFINE = RefineSettings(
    contrast_low=0.4, contrast_high=0.6, speck_fraction=0.05, edge_levels=(0.4, 0.6)
)

# Full-size per-pixel work is done this many pixels at a time: its temporaries are then ~1 MB
# instead of full-size ones (the float ones of `to_uint8` alone were 480 MB at 40 MP).
_STRIP_PIXELS = 1 << 18


def _row_strips(height: int, width: int) -> Iterator[slice]:
    """Slices of rows of about `_STRIP_PIXELS` pixels each, covering `height` rows."""
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        yield slice(top, min(top + rows, height))


def refine_alpha(
    prediction: FloatArray,
    image: npt.NDArray[np.uint8],
    settings: RefineSettings,
) -> Mask:
    """uint8 alpha at `image`'s size (H, W) from a 0..1 prediction of any size."""
    height, width = image.shape[:2]
    return refine_to_size(prediction, (width, height), settings, lambda: image)


def refine_to_size(
    prediction: FloatArray,
    size: tuple[int, int],
    settings: RefineSettings,
    photo: Callable[[], npt.NDArray[np.uint8]] | None = None,
) -> Mask:
    """`refine_alpha` at `size` (width, height); `photo` gives the pixels, asked for only when
    the guided filter needs them (a full-size copy of a 40 MP photo is 120 MB).

    After the one full-size resize every step works in place on that float32 array, and the
    uint8 result is made a strip of rows at a time: the full-size float temporaries of the
    plain chain (`contrast`, `clip`, `to_uint8`: about 11 bytes a pixel) are never made.
    """
    alpha = np.asarray(prediction, dtype=np.float32)
    if settings.stretch:
        alpha = stretch(alpha)
    alpha = resize(alpha, size)
    if np.may_share_memory(alpha, prediction):
        alpha = alpha.copy()  # the steps below write into it; the caller's array stays
    if settings.guided_radius > 0:
        import cv2

        if photo is None:
            raise ValueError("the guided filter needs the photo")
        image = photo()
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
        guide = np.asarray(grey, dtype=np.uint8)
        alpha = guided_filter(guide, alpha, settings.guided_radius, settings.guided_eps)
    low, high = settings.contrast_low, settings.contrast_high
    if settings.edge_levels:
        from backdrop.engines.edge_level import CENTRE, edge_aligned_level

        if photo is None:
            raise ValueError("placing the edge needs the photo")
        level = edge_aligned_level(alpha, photo(), settings.edge_levels, settings.edge_gate)
        low, high = low + level - CENTRE, high + level - CENTRE
    if low > 0 or high < 1:
        alpha = contrast(alpha, low, high, out=alpha)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    if settings.speck_fraction > 0:
        alpha = remove_specks(alpha, settings.speck_fraction, in_place=True)
    if settings.hole_fraction > 0:
        alpha = fill_holes(alpha, settings.hole_fraction, in_place=True)
    return to_uint8_in_strips(alpha)


def stretch(alpha: FloatArray) -> FloatArray:
    """Min-max stretch to 0..1 (a flat prediction is left as it is)."""
    low, high = float(alpha.min()), float(alpha.max())
    if high - low < 1e-6:
        return alpha
    stretched: FloatArray = (alpha - np.float32(low)) / np.float32(high - low)
    return stretched


def resize(alpha: FloatArray, size: tuple[int, int]) -> FloatArray:
    """`alpha` resized to `size` (width, height): area average down, bilinear up."""
    import cv2

    if (alpha.shape[1], alpha.shape[0]) == size:
        return alpha
    shrinking = size[0] * size[1] < alpha.shape[0] * alpha.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized: FloatArray = np.asarray(
        cv2.resize(alpha, size, interpolation=interpolation), dtype=np.float32
    )
    return resized


def guided_filter(
    guide: npt.NDArray[np.uint8], source: FloatArray, radius: int, eps: float
) -> FloatArray:
    """He et al.'s guided filter with a grey guide (0..255 image, eps on a 0..1 scale)."""
    import cv2

    i = (guide / np.float32(255.0)).astype(np.float32, copy=False)
    p: FloatArray = source.astype(np.float32)
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: FloatArray) -> FloatArray:
        out: FloatArray = np.asarray(
            cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT), dtype=np.float32
        )
        return out

    mean_i = box(i)
    mean_p = box(p)
    cov_ip = box(i * p) - mean_i * mean_p
    var_i = box(i * i) - mean_i * mean_i
    a = (cov_ip / (var_i + np.float32(eps))).astype(np.float32, copy=False)
    b = (mean_p - a * mean_i).astype(np.float32, copy=False)
    filtered: FloatArray = box(a) * i + box(b)
    return filtered


def contrast(
    alpha: FloatArray, low: float, high: float, *, out: FloatArray | None = None
) -> FloatArray:
    """Map `low`..`high` linearly onto 0..1, clipping outside; into `out` when given (the
    same operations in the same order, so the same numbers as a new array)."""
    ramp: FloatArray = np.subtract(alpha, np.float32(low), out=out)
    np.divide(ramp, np.float32(high - low), out=ramp)
    np.clip(ramp, 0.0, 1.0, out=ramp)
    return ramp


def remove_specks(alpha: FloatArray, fraction: float, *, in_place: bool = False) -> FloatArray:
    """Zero the parts of `alpha` around subject components smaller than `fraction` x largest.

    A small component joined to a kept one through half-transparent pixels (a sure bit of a
    sleeve inside a smear against a bright sky) is not cut out: that left a hard-edged hole
    in the smear. It is lowered to the smear's level instead, so it counts as background
    (alpha < 0.5) exactly as a dropped speck does, and the smear stays whole.

    `in_place` changes `alpha` itself instead of a copy (refine_alpha owns its array).
    """
    import cv2

    solid = _at_least(alpha, 0.5)
    count, labels, stats = _components(solid, connectivity=8)
    if count <= 2:
        return alpha
    areas = stats[1:, cv2.CC_STAT_AREA]
    small = np.flatnonzero(areas < fraction * areas.max()) + 1
    if small.size == 0:
        return alpha
    group = _joined_groups(alpha, labels, count)
    kept_groups = group[np.setdiff1d(np.arange(1, count), small)]
    in_smear = np.isin(group[small], kept_groups)
    cleaned = alpha if in_place else alpha.copy()
    for label in small[in_smear]:
        _lower_to_surroundings(cleaned, labels, label, stats[label], solid)
    specks = small[~in_smear]
    if specks.size == 0:
        return cleaned
    # The soft fringe of a dropped speck goes with it: everything within a few pixels of it
    # that is not part of a kept component.
    dropped = _pixels_of(labels, specks, stats)
    del labels
    grown = cv2.dilate(dropped.view(np.uint8), np.ones((5, 5), np.uint8)).view(np.bool_)
    for rows in _row_strips(*alpha.shape):
        kept = solid[rows].view(np.bool_) & ~dropped[rows]
        cleaned[rows][grown[rows] & ~kept] = 0.0
    return cleaned


def _joined_groups(alpha: FloatArray, labels: npt.NDArray[Any], count: int) -> npt.NDArray[Any]:
    """For each solid component, the label of the joined component (alpha >= `_JOINING`)
    that holds it: every pixel of a solid component lies in one joined component.

    Mapped a strip of rows at a time: numpy indexes with a full-size intp copy of the labels
    otherwise (8 bytes a pixel). Label 0 (not solid) gets some value; it is never read.
    """
    joined = _components(_at_least(alpha, _JOINING), connectivity=8)[1]
    group = np.zeros(count, np.int32)
    for rows in _row_strips(*labels.shape):
        group[labels[rows]] = joined[rows]
    return group


def _pixels_of(
    labels: npt.NDArray[Any], chosen: npt.NDArray[Any], stats: npt.NDArray[Any]
) -> npt.NDArray[np.bool_]:
    """True where `labels` is one of `chosen`, each looked for only in its bounding box
    (`np.isin` over the whole image makes full-size int64 temporaries)."""
    found = np.zeros(labels.shape, np.bool_)
    for label in chosen:
        x, y, w, h = (int(v) for v in stats[label][:4])
        found[y : y + h, x : x + w] |= labels[y : y + h, x : x + w] == label
    return found


# Pixels at least this opaque join a small solid part to the subject: a half-transparent
# smear, not the faint haze that clutter sits in.
_JOINING = 0.25


def _lower_to_surroundings(
    alpha: FloatArray, labels: npt.NDArray[Any], label: int, box: npt.NDArray[Any], solid: Mask
) -> None:
    """Lower component `label` (in place) to the median alpha of the soft pixels around it."""
    import cv2

    x, y, w, h = (int(v) for v in box[:4])
    top, left = max(0, y - 2), max(0, x - 2)
    bottom, right = min(alpha.shape[0], y + h + 2), min(alpha.shape[1], x + w + 2)
    region = labels[top:bottom, left:right] == label
    ring = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ring &= solid[top:bottom, left:right] == 0
    window = alpha[top:bottom, left:right]
    level = float(np.median(window[ring])) if ring.any() else 0.0
    window[region] = np.minimum(window[region], level)


def fill_holes(alpha: FloatArray, fraction: float, *, in_place: bool = False) -> FloatArray:
    """Set to 1 background holes enclosed by the subject smaller than `fraction` x subject."""
    background = np.less(alpha, 0.5).view(np.uint8)
    count, labels, stats = _components(background, connectivity=4)
    if count <= 2:
        return alpha
    height, width = alpha.shape
    subject_area = height * width - int(np.count_nonzero(background))
    filled = alpha if in_place else alpha.copy()
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_border = x == 0 or y == 0 or x + w == width or y + h == height
        if not touches_border and area < fraction * subject_area:
            filled[labels == label] = 1.0
    return filled


def to_uint8(alpha: FloatArray) -> Mask:
    """0..1 float alpha as uint8 0..255 (rounded)."""
    scaled: Mask = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
    return scaled


def to_uint8_in_strips(alpha: FloatArray) -> Mask:
    """`to_uint8` of a (H, W) alpha, computed a strip of rows at a time (the same numbers)."""
    result: Mask = np.empty(alpha.shape, np.uint8)
    for rows in _row_strips(*alpha.shape):
        result[rows] = to_uint8(alpha[rows])
    return result


def _at_least(alpha: FloatArray, level: float) -> Mask:
    """1 where `alpha >= level`, else 0, as uint8 without a second copy (a bool is a byte)."""
    at_least: Mask = np.greater_equal(alpha, level).view(np.uint8)
    return at_least


def _components(binary: Mask, connectivity: int) -> tuple[int, npt.NDArray[Any], npt.NDArray[Any]]:
    """`cv2.connectedComponentsWithStats` with 16-bit labels while they fit (half the memory
    of 32-bit ones: 80 MB less at 40 MP); OpenCV refuses 16 bits past 65534 labels, and then
    the labels are made again in 32 bits. Labels and stats are the same in both."""
    import cv2

    try:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=connectivity, ltype=cv2.CV_16U
        )
    except cv2.error:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            binary, connectivity=connectivity, ltype=cv2.CV_32S
        )
    return int(count), labels, stats
