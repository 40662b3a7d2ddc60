"""Cutout quality against a ground-truth mask: IoU, MAE and boundary F-measure.

Predictions are uint8 alpha (0..255). Ground truth is a uint8 mask: 0 = background,
255 = subject, and 128 = "unknown" (not scored). Only numpy is used, so the service does not
need scipy for this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from backdrop.imaging.outline import contour

Mask = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]

UNKNOWN = 128
# alpha >= 0.5 counts as subject; 0.5 * 255 = 127.5, so uint8 values from 128 up.
FOREGROUND_FROM = 128
DEFAULT_BOUNDARY_TOLERANCE = 3


@dataclass(frozen=True)
class Scores:
    """One image's scores; higher is better except `mae`."""

    iou: float
    mae: float
    boundary_f: float


def _check(alpha: Mask, truth: Mask) -> None:
    if alpha.shape != truth.shape or alpha.ndim != 2:
        raise ValueError(f"prediction {alpha.shape} and truth {truth.shape} differ or are not 2-D")


def known_pixels(truth: Mask) -> BoolArray:
    """Where the ground truth says something (is not the unknown value 128)."""
    known: BoolArray = truth != UNKNOWN
    return known


def truth_foreground(truth: Mask) -> BoolArray:
    """Known subject pixels of a ground-truth mask."""
    fg: BoolArray = truth > UNKNOWN
    return fg


def predicted_foreground(alpha: Mask) -> BoolArray:
    """Pixels the prediction calls subject (alpha >= 0.5)."""
    fg: BoolArray = alpha >= FOREGROUND_FROM
    return fg


def iou(alpha: Mask, truth: Mask) -> float:
    """Intersection over union of the subject at alpha >= 0.5, unknown pixels ignored.

    Both empty counts as a perfect 1.0.
    """
    _check(alpha, truth)
    known = known_pixels(truth)
    pred = predicted_foreground(alpha) & known
    true = truth_foreground(truth)
    union = int(np.count_nonzero(pred | true))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & true)) / union


def mae(alpha: Mask, truth: Mask) -> float:
    """Mean absolute difference of alpha and truth, both as 0..1, over known pixels."""
    _check(alpha, truth)
    known = known_pixels(truth)
    if not known.any():
        return 0.0
    diff = np.abs(alpha[known].astype(np.float64) - truth[known].astype(np.float64)) / 255.0
    return float(diff.mean())


def boundary_f(alpha: Mask, truth: Mask, tolerance: int = DEFAULT_BOUNDARY_TOLERANCE) -> float:
    """F-measure of the subject's contour, a contour pixel matching within `tolerance` px.

    Unknown truth pixels count as background in both masks before contours are taken, as the
    DAVIS benchmark's `f_measure` treats its void pixels (Perazzi et al., CVPR 2016). A truth
    mask with an unknown band along the subject's edge (GrabCut-style trimaps) then has its
    contour at the band's inner side, and a prediction whose edge lies anywhere inside the
    band has its contour there too: it matches. Excluding contour pixels near the band instead
    (what this did before) left such a truth with no contour at all and scored 0.

    The contours are the subject pixels that touch a non-subject pixel (4-neighbourhood); the
    image border is not a contour. Precision is the share of predicted contour pixels within
    `tolerance` (Euclidean) of a true contour pixel, recall the converse. Both contours empty
    counts as a perfect 1.0.
    """
    _check(alpha, truth)
    known = known_pixels(truth)
    pred_edge = contour(predicted_foreground(alpha) & known)
    true_edge = contour(truth_foreground(truth))
    n_pred = int(np.count_nonzero(pred_edge))
    n_true = int(np.count_nonzero(true_edge))
    if n_pred == 0 and n_true == 0:
        return 1.0
    if n_pred == 0 or n_true == 0:
        return 0.0
    precision = np.count_nonzero(pred_edge & dilate(true_edge, tolerance)) / n_pred
    recall = np.count_nonzero(true_edge & dilate(pred_edge, tolerance)) / n_true
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def score(alpha: Mask, truth: Mask, tolerance: int = DEFAULT_BOUNDARY_TOLERANCE) -> Scores:
    """All three metrics for one image."""
    return Scores(
        iou=iou(alpha, truth), mae=mae(alpha, truth), boundary_f=boundary_f(alpha, truth, tolerance)
    )


def dilate(region: BoolArray, radius: int) -> BoolArray:
    """`region` grown by a disk of `radius` pixels (Euclidean distance <= radius)."""
    if radius <= 0:
        return region.copy()
    height, width = region.shape
    padded = np.pad(region, radius, mode="constant", constant_values=False)
    grown = np.zeros_like(region)
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                grown |= padded[
                    radius + dy : radius + dy + height, radius + dx : radius + dx + width
                ]
    return grown
