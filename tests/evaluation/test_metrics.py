"""Metrics on small masks whose scores can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from backdrop.evaluation.scores import boundary_f, dilate, iou, mae, score
from backdrop.imaging.outline import contour


def square(left: int, top: int = 10, side: int = 20, size: int = 50) -> np.ndarray:
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[top : top + side, left : left + side] = 255
    return mask


def test_a_perfect_prediction_scores_perfectly() -> None:
    truth = square(10)
    scores = score(truth.copy(), truth)
    assert scores.iou == 1.0 and scores.mae == 0.0 and scores.boundary_f == 1.0


def test_a_square_shifted_by_two_pixels() -> None:
    truth, predicted = square(10), square(12)
    # Overlap 18x20 = 360, union 360 + 2 * 40 = 440.
    assert iou(predicted, truth) == pytest.approx(360 / 440)
    # 80 of the 2500 pixels are wrong by a full 1.0.
    assert mae(predicted, truth) == pytest.approx(80 / 2500)
    # Every contour pixel is 2 px from the other contour: within a 3 px tolerance...
    assert boundary_f(predicted, truth, tolerance=3) == 1.0
    assert boundary_f(predicted, truth, tolerance=2) == 1.0
    # ...but with 1 px, of each 76-pixel contour only the top and bottom rows (18 shared
    # columns + 1 neighbour each) and the 2 side pixels next to the other's corners match:
    # 40 of 76 both ways.
    assert boundary_f(predicted, truth, tolerance=1) == pytest.approx(40 / 76)


def test_disjoint_squares_share_nothing() -> None:
    truth, predicted = square(0, side=10), square(30, side=10)
    assert iou(predicted, truth) == 0.0
    assert boundary_f(predicted, truth) == 0.0


def test_unknown_pixels_are_not_scored() -> None:
    truth = square(10)
    predicted = truth.copy()
    # The prediction is wrong on a band that the truth marks unknown.
    predicted[:, 40:] = 255
    predicted[10:30, 10:15] = 0
    truth[:, 40:] = 128
    truth[10:30, 10:15] = 128
    assert iou(predicted, truth) == pytest.approx(1.0)
    assert mae(predicted, truth) == 0.0
    assert boundary_f(predicted, truth) == 1.0


def test_alpha_threshold_is_one_half_and_mae_uses_soft_alpha() -> None:
    truth = np.zeros((4, 4), dtype=np.uint8)
    truth[:, :2] = 255
    predicted = np.full((4, 4), 51, dtype=np.uint8)  # 0.2 everywhere
    predicted[:, :2] = 128  # 0.502: subject
    assert iou(predicted, truth) == 1.0
    # Left half off by 127/255, right half by 51/255.
    assert mae(predicted, truth) == pytest.approx((127 + 51) / 2 / 255)
    predicted[:, :2] = 127  # 0.498: not subject
    assert iou(predicted, truth) == 0.0


def test_empty_prediction_and_truth_count_as_perfect() -> None:
    empty = np.zeros((8, 8), dtype=np.uint8)
    scores = score(empty, empty.copy())
    assert (scores.iou, scores.mae, scores.boundary_f) == (1.0, 0.0, 1.0)


def test_contour_leaves_out_the_image_border_and_dilate_uses_a_disk() -> None:
    full = np.ones((5, 5), dtype=bool)
    assert not contour(full).any()
    block = np.zeros((5, 5), dtype=bool)
    block[1:4, 1:4] = True
    assert contour(block).sum() == 8  # the ring around the centre pixel
    dot = np.zeros((7, 7), dtype=bool)
    dot[3, 3] = True
    assert dilate(dot, 1).sum() == 5  # a plus sign
    assert dilate(dot, 2).sum() == 13  # offsets with dy^2 + dx^2 <= 4


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError):
        iou(np.zeros((4, 4), np.uint8), np.zeros((4, 5), np.uint8))


def banded(side: int = 30, band: int = 6, size: int = 60) -> np.ndarray:
    """A GrabCut-style truth: a square subject whose edge is an unknown band `band` px wide."""
    truth = np.zeros((size, size), dtype=np.uint8)
    top = (size - side) // 2
    truth[top : top + side, top : top + side] = 128
    truth[top + band : top + side - band, top + band : top + side - band] = 255
    return truth


def test_an_edge_anywhere_inside_an_unknown_band_matches() -> None:
    truth = banded()
    for inset in (0, 2, 5):  # the predicted square's edge at the band's outer side ... inner
        predicted = np.zeros_like(truth)
        predicted[15 + inset : 45 - inset, 15 + inset : 45 - inset] = 255
        assert iou(predicted, truth) == 1.0
        assert boundary_f(predicted, truth) == 1.0


def test_an_edge_outside_an_unknown_band_still_misses() -> None:
    truth = banded()
    # Too small: the edge is 6 px inside the band's inner side, beyond the 3 px tolerance.
    shrunk = np.zeros_like(truth)
    shrunk[27:33, 27:33] = 255
    assert boundary_f(shrunk, truth) == 0.0
    # Too large by 5 px: the part outside the band has an edge the truth has nowhere near.
    grown = np.zeros_like(truth)
    grown[10:50, 10:50] = 255
    assert 0.0 < boundary_f(grown, truth) < 0.8


def test_a_small_flaw_off_the_band_costs_a_little_not_everything() -> None:
    truth = banded()
    predicted = np.zeros_like(truth)
    predicted[18:42, 18:42] = 255
    predicted[29:31, 29:31] = 0  # a 2x2 hole in the sure subject: 8 stray contour pixels
    # The true contour is the 68-pixel ring at the band's inner side (an 18 px square); the
    # prediction has it too, plus the hole's 8: precision 68/76, recall 1.
    assert boundary_f(predicted, truth) == pytest.approx(2 * (68 / 76) / (68 / 76 + 1))
