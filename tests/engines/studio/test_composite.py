from __future__ import annotations

import numpy as np
import pytest

from backdrop.engines.studio.composite import (
    decontaminate,
    depth_of_field,
    harmonise,
    horizon_for,
    light_wrap,
    shadow_map,
)
from backdrop.engines.studio.recipe import Light


def _matte() -> np.ndarray:
    alpha = np.zeros((100, 80), dtype=np.float32)
    alpha[30:80, 30:50] = 1.0
    return alpha


# `_matte()`'s subject as (left, top, right, bottom) fractions of the frame.
BOX = (30 / 80, 0.3, 50 / 80, 0.8)


def test_the_horizon_keeps_the_framing() -> None:
    assert 0.3 < horizon_for(0.3, 0.8) < 0.8
    # A subject cut by the frame's bottom edge: the floor is out of sight, below it.
    assert horizon_for(0.1, 1.0) == pytest.approx(0.1 + 0.75 * 0.9)


def test_shadow_falls_on_the_floor_under_the_subject_away_from_the_light() -> None:
    alpha = _matte()
    from_left = shadow_map(
        alpha, BOX, horizon_for(0.3, 0.8), Light(direction=-0.8, elevation=0.3, hardness=0.9)
    )
    assert from_left[81:84, 32:48].mean() > 0.15  # contact, right under the base
    assert from_left[:40].max() == 0.0  # nothing on the wall above the horizon
    right, left = from_left[60:80, 50:75].sum(), from_left[60:80, 5:30].sum()
    assert right > left  # cast away from a light on the left


def test_a_cut_off_subject_casts_no_floor_shadow() -> None:
    alpha = np.zeros((50, 50), dtype=np.float32)
    alpha[20:, 10:40] = 1
    assert shadow_map(alpha, (0.2, 0.4, 0.8, 1.0), 0.5, Light()).max() == 0.0


def test_depth_of_field_blurs_far_and_keeps_near() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((60, 60, 3), dtype=np.float32)
    depth = np.zeros((60, 60), dtype=np.float32)
    depth[:30] = 1.0
    out = depth_of_field(image, depth, 1.0)
    assert np.abs(out[45:] - image[45:]).mean() < 0.01
    assert out[:20].std() < image[:20].std() * 0.7


def test_decontamination_removes_the_old_background_from_edges() -> None:
    alpha = np.zeros((40, 40), dtype=np.float32)
    alpha[:, 20:] = 1.0
    alpha[:, 19] = 0.5
    subject, old = (
        np.asarray([0.2, 0.4, 0.9], dtype=np.float32),
        np.asarray([1.0, 0.0, 0.0], dtype=np.float32),
    )
    image = subject * alpha[..., None] + old * (1 - alpha[..., None])
    clean = decontaminate(image.astype(np.float32), alpha)
    np.testing.assert_allclose(clean[:, 19], np.broadcast_to(subject, (40, 3)), atol=0.05)


def test_harmonisation_and_light_wrap_are_gentle() -> None:
    rng = np.random.default_rng(2)
    subject = rng.random((50, 50, 3), dtype=np.float32)
    alpha = np.zeros((50, 50), dtype=np.float32)
    alpha[10:40, 10:40] = 1
    scene = np.zeros((50, 50, 3), dtype=np.float32) + np.asarray([1.0, 0.5, 0.1], dtype=np.float32)
    warm = harmonise(subject, alpha, scene, Light(warmth=1.0))
    inside = alpha == 1
    assert np.abs(warm - subject)[inside].mean() < 0.02
    assert (warm[..., 0] - subject[..., 0])[inside].mean() > 0  # towards the warm scene
    wrapped = light_wrap(subject, alpha, scene, Light())
    assert np.abs(wrapped - subject)[20:30, 20:30].max() < 1e-6  # the middle is untouched


def test_a_front_light_still_shows_the_cast_shadow_beside_the_subject() -> None:
    alpha = _matte()
    front = shadow_map(alpha, BOX, horizon_for(0.3, 0.8), Light(direction=0.0, elevation=0.7))
    # Outside the subject, beside it on the floor, the cast shadow is clearly there.
    beside = front[65:80][:, list(range(5, 30)) + list(range(50, 75))]
    assert beside.max() > 0.12
    assert float((front * (alpha < 0.5))[60:80].sum()) > 8.0


def test_the_contact_shadow_touches_every_foot_of_the_subject() -> None:
    # A subject on two feet of slightly different length (a photo taken a little from the
    # side): the right foot ends above the box's lowest row, yet stands on the floor too.
    alpha = np.zeros((100, 80), dtype=np.float32)
    alpha[30:75, 30:50] = 1.0
    alpha[75:80, 30:35] = 1.0
    alpha[75:76, 45:50] = 1.0
    box = BOX  # the long foot reaches row 80, as in `_matte()`
    # A high light on the right: the cast shadow is short and falls left, away from the foot.
    light = Light(direction=0.8, elevation=0.9)
    shadow = shadow_map(alpha, box, horizon_for(box[1], box[3]), light)
    assert shadow[80, 30:35].mean() > 0.5  # under the long foot, on the box's lowest row
    assert shadow[76, 46:49].mean() > 0.22  # and right under the short one too


def test_light_wraps_most_round_the_edge_facing_the_light() -> None:
    alpha = _matte()
    subject = np.full((100, 80, 3), 0.2, dtype=np.float32)
    background = np.full((100, 80, 3), 0.9, dtype=np.float32)
    from_left = light_wrap(subject, alpha, background, Light(direction=-0.8))
    left_edge, right_edge = from_left[50, 30].mean(), from_left[50, 49].mean()
    assert left_edge > right_edge + 0.02


def test_a_bright_subject_is_dimmed_on_a_night_scene_within_the_bound() -> None:
    alpha = _matte()
    subject = np.full((100, 80, 3), 0.8, dtype=np.float32)
    night = np.full((100, 80, 3), 0.08, dtype=np.float32)
    result = harmonise(subject, alpha, night, Light("night", warmth=-0.3, brightness=0.3))
    change = (subject - result)[alpha > 0.5]
    assert change.mean() > 0.01  # dimmer...
    assert np.abs(change).max() <= 0.031  # ...by no more than about 8 levels
