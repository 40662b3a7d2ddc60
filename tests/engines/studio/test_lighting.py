from __future__ import annotations

import numpy as np

from backdrop.engines.studio.lighting import grade, key_color, sun_position
from backdrop.engines.studio.recipe import Light


def test_warm_light_is_amber_and_cool_light_is_blue() -> None:
    warm, cool = key_color(Light(warmth=1.0)), key_color(Light(warmth=-1.0))
    assert warm[0] > warm[2] and cool[2] > cool[0]


def test_the_lit_side_is_brighter() -> None:
    flat = np.full((20, 40, 3), 0.5, dtype=np.float32)
    graded = grade(flat, Light(direction=-1.0, hardness=1.0), vignette=0.0)
    assert graded[:, :10].mean() > graded[:, 30:].mean()


def test_low_sun_sits_near_the_horizon() -> None:
    _, low = sun_position(Light(elevation=0.05), 0.6)
    _, high = sun_position(Light(elevation=0.9), 0.6)
    assert high < low < 0.6
