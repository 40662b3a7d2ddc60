"""Alpha refinement steps, each on a small test-made image where the right answer is known."""

from __future__ import annotations

import numpy as np

from backdrop.engines.refine import (
    RefineSettings,
    contrast,
    fill_holes,
    guided_filter,
    refine_alpha,
    remove_specks,
    resize,
    stretch,
)


def _square_photo(size: int = 64, edge: int = 32) -> np.ndarray:
    """A grey photo: bright left part up to column `edge`, dark right part."""
    photo = np.full((size, size, 3), 30, np.uint8)
    photo[:, :edge] = 220
    return photo


def test_stretch_maps_min_and_max_to_0_and_1_and_leaves_flat_maps() -> None:
    values = np.array([[0.1, 0.2, 0.3]], np.float32)
    np.testing.assert_allclose(stretch(values), [[0.0, 0.5, 1.0]], atol=1e-6)
    flat = np.full((2, 2), 0.4, np.float32)
    np.testing.assert_array_equal(stretch(flat), flat)


def test_resize_goes_to_width_by_height() -> None:
    assert resize(np.zeros((16, 16), np.float32), (40, 10)).shape == (10, 40)
    assert resize(np.zeros((16, 16), np.float32), (4, 8)).shape == (8, 4)


def test_guided_filter_snaps_a_blurry_edge_to_the_photo_edge() -> None:
    photo = _square_photo()
    grey = photo[..., 0]
    # A soft ramp 8 px wide around the true edge at column 32.
    blurry = np.clip((40 - np.arange(64, dtype=np.float32)) / 16, 0, 1)[None].repeat(64, 0)
    sharp = guided_filter(grey, blurry, radius=8, eps=1e-4)
    steps = np.abs(np.diff(sharp[32]))
    # The biggest change now sits exactly at the photo's edge and is a jump, not a ramp step.
    assert int(steps.argmax()) == 31
    assert steps.max() > 0.4 > np.abs(np.diff(blurry[32])).max()


def test_guided_filter_keeps_a_soft_matte_on_a_flat_photo() -> None:
    # No photo edge to follow (hair on a plain wall, say): the soft values survive.
    flat = np.full((32, 32), 128, np.uint8)
    soft = np.linspace(0, 1, 32, dtype=np.float32)[None].repeat(32, 0)
    filtered = guided_filter(flat, soft, radius=2, eps=1e-3)
    np.testing.assert_allclose(filtered[:, 4:-4], soft[:, 4:-4], atol=1e-3)


def test_contrast_clips_the_ends_and_keeps_the_middle_linear() -> None:
    values = np.array([0.0, 0.05, 0.5, 0.95, 1.0], np.float32)
    np.testing.assert_allclose(contrast(values, 0.1, 0.9), [0, 0, 0.5, 1, 1], atol=1e-6)


def test_remove_specks_drops_small_islands_and_their_fringe_only() -> None:
    alpha = np.zeros((60, 60), np.float32)
    alpha[10:40, 10:40] = 1.0  # the subject, 900 px
    alpha[50:53, 50:53] = 0.9  # a 9 px speck
    alpha[49, 50:53] = 0.3  # its soft fringe
    cleaned = remove_specks(alpha, 0.05)
    assert cleaned[45:, 45:].max() == 0.0
    np.testing.assert_array_equal(cleaned[:45, :45], alpha[:45, :45])


def test_remove_specks_leaves_no_hole_in_a_half_transparent_smear() -> None:
    """A sleeve against a bright sky: a smear at 0.45 down to the bottom edge, with a small
    sure part in it. Cutting that part out left a hard rectangular notch in the smear; it is
    lowered to the smear's level instead (below 0.5: background, as a speck would be)."""
    alpha = np.zeros((200, 300), np.float32)
    alpha[20:150, 80:220] = 1.0  # the body
    alpha[150:200, 120:260] = 0.45  # the smear, joined to the body
    alpha[185:200, 200:240] = 0.8  # the sure part, 600 px: under 5% of the body
    cleaned = remove_specks(alpha, 0.05)
    np.testing.assert_array_equal(cleaned[150:200, 120:260], np.float32(0.45))
    np.testing.assert_array_equal(cleaned[:150], alpha[:150])
    # The same part on its own, not joined to anything, is still a speck.
    alpha[150:180, 120:260] = 0.0
    alpha[180:200, 120:260] = 0.1  # a faint haze does not join
    alpha[185:200, 200:240] = 0.8
    assert remove_specks(alpha, 0.05)[185:200, 200:240].max() == 0.0


def test_remove_specks_keeps_two_comparable_subjects() -> None:
    alpha = np.zeros((40, 80), np.float32)
    alpha[5:35, 5:35] = 1.0
    alpha[5:30, 45:70] = 1.0
    np.testing.assert_array_equal(remove_specks(alpha, 0.05), alpha)


def test_fill_holes_fills_pinholes_but_not_background_touching_the_border() -> None:
    alpha = np.zeros((50, 50), np.float32)
    alpha[5:45, 5:45] = 1.0
    alpha[20:22, 20:22] = 0.1  # a 4 px pin-hole inside
    filled = fill_holes(alpha, 0.01)
    assert filled[20:22, 20:22].min() == 1.0
    assert filled[0, 0] == 0.0  # the outer background is not a hole


def test_fill_holes_leaves_large_enclosed_gaps() -> None:
    alpha = np.zeros((50, 50), np.float32)
    alpha[5:45, 5:45] = 1.0
    alpha[15:35, 15:35] = 0.0  # a 400 px gap, e.g. between an arm and the body
    np.testing.assert_array_equal(fill_holes(alpha, 0.01), alpha)


def test_refine_alpha_returns_uint8_at_the_photo_size() -> None:
    photo = _square_photo(size=48)[:, :40]  # 40 wide, 48 high
    prediction = np.zeros((16, 16), np.float32)
    prediction[:, :8] = 0.8
    alpha = refine_alpha(
        prediction, photo, RefineSettings(guided_radius=2, speck_fraction=0.01, hole_fraction=0.01)
    )
    assert alpha.dtype == np.uint8
    assert alpha.shape == (48, 40)
    # Stretched: the subject side is fully opaque, the other side fully transparent.
    assert alpha[24, 2] == 255 and alpha[24, 38] == 0
