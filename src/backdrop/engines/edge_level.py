"""Where the subject's edge sits: the alpha level whose contour follows the photo's edges.

A model's soft prediction has a ramp across the subject's edge, and cutting it at 0.5 puts
the edge a pixel or two inside or outside the real one, differently from photo to photo
(bench/BEST.md: moving the cut to 0.4 or 0.6 moves boundary F by as much as 0.035 on one dev
set and the other way on another). A person drawing the edge follows the photo's own edges,
so this picks, per photo, the level among a few whose contour runs along the strongest photo
gradient, and keeps 0.5 unless that contour is clearly (`gate` times) stronger than 0.5's.

It is a global choice per photo, so it is made on a copy of at most `_WORK_PIXELS` pixels:
the gradient of a 40 MP photo at full size would take ~1.5 GB of float temporaries.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# The contour boundary F scores (evaluation/scores.py): the edge placed is the edge measured.
from backdrop.imaging.outline import contour

FloatArray = npt.NDArray[np.float32]

CENTRE = 0.5
_WORK_PIXELS = 2_000_000


def edge_strength(photo: npt.NDArray[np.uint8]) -> FloatArray:
    """Per pixel, the largest of the channels' Sobel gradient magnitudes."""
    import cv2

    image = np.asarray(photo, np.float32)
    dx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    dy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.sqrt(dx * dx + dy * dy)
    if magnitude.ndim == 3:
        magnitude = magnitude.max(axis=2)
    return np.asarray(magnitude, np.float32)


def edge_aligned_level(
    alpha: FloatArray,
    photo: npt.NDArray[np.uint8],
    levels: tuple[float, ...],
    gate: float,
) -> float:
    """The level of `levels` whose contour in `alpha` has the highest mean photo gradient,
    if that mean is over `gate` times the 0.5 contour's; otherwise 0.5.

    `alpha` and `photo` have the same height and width.
    """
    import cv2

    height, width = alpha.shape
    scale = min(1.0, (_WORK_PIXELS / (height * width)) ** 0.5)
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        alpha = np.asarray(cv2.resize(alpha, size, interpolation=cv2.INTER_AREA), np.float32)
        photo = np.asarray(cv2.resize(photo, size, interpolation=cv2.INTER_AREA), np.uint8)
    strength = edge_strength(photo)
    means: dict[float, float] = {}
    for level in (*levels, CENTRE):
        edge = contour(alpha >= level)
        if edge.any():
            means[level] = float(strength[edge].mean())
    if CENTRE not in means:
        return CENTRE
    strongest = max(means, key=means.__getitem__)
    return strongest if means[strongest] > gate * means[CENTRE] else CENTRE
