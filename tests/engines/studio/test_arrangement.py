from __future__ import annotations

from dataclasses import replace

import numpy as np

from backdrop.engines.studio.elements import built
from backdrop.engines.studio.elements.arrangement import compose, drawn_elements
from backdrop.engines.studio.presets import PRESETS
from backdrop.engines.studio.recipe import Element
from backdrop.engines.studio.scenes import Stage

STAGE = Stage(160, 120, 0.6, 0.85, 0.42, 0.58, 0.35, 3)
ROOM = next(p.recipe for p in PRESETS if p.recipe.name == "bedroom")
BEACH = next(p.recipe for p in PRESETS if p.recipe.name == "sunset beach")
MOUNTAINS = next(p.recipe for p in PRESETS if p.recipe.name == "snowy mountains")


def _blank() -> np.ndarray:
    return np.full((120, 160, 3), 0.5, dtype=np.float32)


def test_named_elements_are_drawn_and_nothing_else_changes_without_them() -> None:
    none = replace(ROOM, elements=())
    assert np.array_equal(compose(none, STAGE, _blank())[0], _blank())
    with_shelf = replace(ROOM, elements=(Element.BOOKSHELF,))
    assert np.abs(compose(with_shelf, STAGE, _blank())[0] - _blank()).mean() > 0.02


def test_indoors_the_far_view_is_seen_through_a_window() -> None:
    recipe = replace(ROOM, elements=(Element.SKYLINE,))
    image, cover = compose(recipe, STAGE, _blank())
    assert cover.max() == 1.0
    bare_window = compose(replace(ROOM, elements=(Element.WINDOW,)), STAGE, _blank())[0]
    # The skyline is there, inside the window: the two differ only within the pane.
    changed = np.abs(image - bare_window).max(axis=2) > 0.02
    assert changed.any()
    rows, _ = np.nonzero(changed)
    assert rows.max() / STAGE.height <= STAGE.horizon + 0.01  # nothing below the sill


def test_ground_things_stand_beside_the_subject() -> None:
    subject_cols = slice(round(STAGE.left * 160) + 2, round(STAGE.right * 160) - 2)
    # A lamp fits beside the subject: nothing of it is behind.
    lamp = replace(BEACH, elements=(Element.FLOOR_LAMP,))
    # (Its shapes only: the glow of a lamp may spread behind the subject.)
    changed = compose(lamp, STAGE, _blank())[1] > 0.5
    assert changed.sum() > 50
    assert changed[:, subject_cols].sum() < changed.sum() * 0.1
    # An umbrella is wider than the room beside it: it stands further back, mostly clear.
    umbrella = replace(BEACH, elements=(Element.UMBRELLA,))
    changed = compose(umbrella, STAGE, _blank())[1] > 0.5
    assert changed.sum() > 50
    assert changed[:, subject_cols].sum() < changed.sum() * 0.4


def test_what_the_scene_already_paints_is_not_drawn_twice() -> None:
    recipe = replace(MOUNTAINS, elements=(Element.MOUNTAINS, Element.HOUSES))
    assert drawn_elements(recipe) == (Element.HOUSES,)


def test_the_window_pane_is_inside_its_frame() -> None:
    from backdrop.engines.studio.elements.canvas import Placement

    at = Placement(0.5, 0.6, 0.4, 4 / 3)
    (x0, y0), (x1, y1) = built.window_pane(at)
    assert at.x - 0.3 < x0 < x1 < at.x + 0.3 and at.y - at.size <= y0 < y1 <= at.y
