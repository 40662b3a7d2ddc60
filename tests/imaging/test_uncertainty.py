"""x-uncertainty-score: 0..1, near 0 for a crisp matte, higher as the undecided band grows."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from backdrop.imaging.uncertainty import uncertainty_score


def _disc(soft_edge: float, size: int = 400, radius: int = 150) -> np.ndarray:
    """A disc matte whose edge ramps from 1 to 0 over `soft_edge` pixels (anti-aliased at 1)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    distance = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((radius - distance) / soft_edge + 0.5, 0, 1)
    return np.round(alpha * 255).astype(np.uint8)


def test_a_crisp_matte_scores_near_zero_and_a_soft_one_high() -> None:
    crisp = uncertainty_score(_disc(1.0))
    soft = uncertainty_score(_disc(30.0))
    assert crisp < 0.05
    assert 0.5 < soft <= 1.0
    # The score grows with the undecided band, step by step.
    scores = [uncertainty_score(_disc(edge)) for edge in (1, 4, 10, 20, 30)]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)


def test_bounds_and_edge_cases() -> None:
    assert uncertainty_score(np.zeros((50, 50), np.uint8)) == 1.0  # no subject at all
    assert uncertainty_score(np.full((50, 50), 255, np.uint8)) == 0.0  # sure of everything
    half = np.full((50, 50), 128, np.uint8)  # every pixel a coin toss
    assert uncertainty_score(half) == 1.0
    # Below 0.1 and above 0.9 counts as decided: a faint haze around a solid subject is not
    # doubt.
    hazy = np.full((100, 100), 20, np.uint8)
    hazy[25:75, 25:75] = 240
    assert uncertainty_score(hazy) == 0.0


def test_a_blurred_matte_scores_higher_than_its_sharp_original() -> None:
    sharp = Image.fromarray(_disc(1.0))
    blurred = np.asarray(sharp.filter(ImageFilter.GaussianBlur(8)))
    assert uncertainty_score(blurred) > uncertainty_score(np.asarray(sharp)) + 0.2


def test_refuses_what_is_not_a_matte() -> None:
    with pytest.raises(ValueError, match="2-D uint8"):
        uncertainty_score(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="2-D uint8"):
        uncertainty_score(np.zeros((4, 4), np.float32))
