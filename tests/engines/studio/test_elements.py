from __future__ import annotations

import numpy as np
import pytest

from backdrop.engines.studio.elements import ELEMENTS, WORDS, Layer
from backdrop.engines.studio.elements.canvas import Canvas, Look, Placement
from backdrop.engines.studio.recipe import Element

LOOK = Look(
    primary=np.asarray([0.8, 0.8, 0.78], dtype=np.float32),
    secondary=np.asarray([0.5, 0.45, 0.4], dtype=np.float32),
    accent=np.asarray([0.8, 0.3, 0.2], dtype=np.float32),
    haze=np.asarray([0.85, 0.88, 0.92], dtype=np.float32),
    side=-1.0,
    key=np.ones(3, dtype=np.float32),
    brightness=0.8,
    night=False,
)


def _drawn(element: Element, x: float, size: float) -> np.ndarray:
    """Coverage of one element drawn alone on a blank canvas (plus its glows)."""
    canvas = Canvas(240, 180)
    at = Placement(x, 0.8, size, canvas.aspect)
    ELEMENTS[element].draw(canvas, at, LOOK, np.random.default_rng(1))
    cover = np.asarray(canvas.cover, dtype=np.float32) / 255.0
    return cover


def test_every_element_has_a_drawing_and_its_words_name_it() -> None:
    assert set(ELEMENTS) == set(Element)
    for element, spec in ELEMENTS.items():
        assert spec.words, element
        assert all(WORDS[word] is element for word in spec.words), element


@pytest.mark.parametrize("element", list(Element))
def test_each_element_is_drawn_where_it_is_placed_at_any_scale(element: Element) -> None:
    if ELEMENTS[element].layer is Layer.OVERLAY or element in (
        Element.SKYLINE,
        Element.MOUNTAINS,
        Element.HILLS,
        Element.WATER,
        Element.BRIDGE,
        Element.PATH,
    ):
        # Strewn over the frame or spanning it: drawn, wherever the placement says.
        assert _drawn(element, 0.5, 0.3).mean() > 0.01
        return
    left, right = _drawn(element, 0.3, 0.3), _drawn(element, 0.7, 0.3)
    assert left.sum() > 0 and right.sum() > 0
    columns = np.arange(left.shape[1])
    centre_left = (left.sum(axis=0) * columns).sum() / left.sum()
    centre_right = (right.sum(axis=0) * columns).sum() / right.sum()
    assert centre_right > centre_left + 40  # it moved with the placement
    small, big = _drawn(element, 0.5, 0.15), _drawn(element, 0.5, 0.3)
    assert big.sum() > small.sum() * 1.5  # and grew with its size


def test_night_darkens_lit_colours_but_not_glows() -> None:
    night = Look(**{**LOOK.__dict__, "night": True})
    grey = (0.6, 0.6, 0.6)
    assert night.lit(grey).mean() < LOOK.lit(grey).mean() - 0.1
    assert np.allclose(night.glow(grey), LOOK.glow(grey))


def test_facing_the_light_is_brighter_and_distance_fades_into_haze() -> None:
    grey = (0.4, 0.4, 0.4)
    assert LOOK.lit(grey, 1.0).mean() > LOOK.lit(grey, -1.0).mean()
    far = LOOK.lit(grey, 0.0, 1.0)
    assert np.abs(far - LOOK.haze).mean() < np.abs(LOOK.lit(grey) - LOOK.haze).mean()
