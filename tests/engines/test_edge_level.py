"""Where `best` puts the subject's edge (engines/edge_level.py), on test-made photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backdrop.engines import edge_level
from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.edge_level import edge_aligned_level
from backdrop.engines.refine import DEFAULT_REFINE, RefineSettings, refine_alpha
from backdrop.engines.segmentation import RefinedEngine, TunedIsnetSegmenter

LEVELS = (0.4, 0.6)


def _disc_photo_and_alpha(
    size: int = 120, radius: float = 30.0, shift: float = 0.0, width: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """A red disc of `radius` on a blue ground, and a model-like alpha: a ramp `width` px
    wide whose 0.5 level lies `shift` px outside the disc's edge (with a shift of a tenth of
    the width, its 0.6 level is on the disc's edge)."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    distance = np.sqrt((yy - size / 2) ** 2 + (xx - size / 2) ** 2) - radius
    photo = np.where((distance < 0)[..., None], (200, 40, 30), (20, 60, 190))
    photo = np.clip(photo + rng.integers(-6, 7, photo.shape), 0, 255).astype(np.uint8)
    alpha = np.clip(0.5 - (distance - shift) / width, 0, 1).astype(np.float32)
    return photo, alpha


@pytest.mark.parametrize(("shift", "expected"), [(0.0, 0.5), (2.0, 0.6), (-2.0, 0.4)])
def test_the_level_whose_contour_is_on_the_photos_edge_wins(shift: float, expected: float) -> None:
    photo, alpha = _disc_photo_and_alpha(shift=shift)
    assert edge_aligned_level(alpha, photo, LEVELS, gate=1.5) == expected


def test_without_a_clearly_stronger_edge_it_stays_at_the_centre() -> None:
    _, alpha = _disc_photo_and_alpha(shift=2.0)
    flat = np.full((*alpha.shape, 3), 128, np.uint8)
    assert edge_aligned_level(alpha, flat, LEVELS, gate=1.5) == 0.5
    photo, _ = _disc_photo_and_alpha()
    # The 0.6 contour is stronger, but an impossible gate keeps 0.5.
    assert edge_aligned_level(alpha, photo, LEVELS, gate=100.0) == 0.5


def test_an_empty_or_full_alpha_stays_at_the_centre() -> None:
    photo, _ = _disc_photo_and_alpha()
    for value in (0.0, 1.0):
        alpha = np.full(photo.shape[:2], value, np.float32)
        assert edge_aligned_level(alpha, photo, LEVELS, gate=1.5) == 0.5


def test_a_large_photo_is_judged_on_a_smaller_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The choice is made on at most `_WORK_PIXELS` pixels, and it is the same choice."""
    photo, alpha = _disc_photo_and_alpha(size=240, radius=60, shift=4.0, width=40.0)
    whole = edge_aligned_level(alpha, photo, LEVELS, gate=1.5)
    seen: list[tuple[int, ...]] = []
    original = edge_level.edge_strength

    def spy(image: np.ndarray) -> np.ndarray:
        seen.append(image.shape)
        return original(image)

    monkeypatch.setattr(edge_level, "edge_strength", spy)
    monkeypatch.setattr(edge_level, "_WORK_PIXELS", 120 * 120)
    assert edge_aligned_level(alpha, photo, LEVELS, gate=1.5) == whole == 0.6
    assert seen == [(120, 120, 3)]


def test_refine_alpha_moves_the_edge_onto_the_photos_and_a_grey_photo_works() -> None:
    photo, alpha = _disc_photo_and_alpha(shift=2.0)
    settings = RefineSettings(contrast_low=0.4, contrast_high=0.6, edge_levels=LEVELS)
    plain = refine_alpha(alpha, photo, RefineSettings(contrast_low=0.4, contrast_high=0.6))
    placed = refine_alpha(alpha, photo, settings)
    truth = _disc_photo_and_alpha(shift=0.0)[1] >= 0.5
    assert np.count_nonzero((placed >= 128) != truth) < np.count_nonzero((plain >= 128) != truth)
    np.testing.assert_array_equal(placed, refine_alpha(alpha, photo, settings))
    grey = photo.mean(axis=2).astype(np.uint8)
    assert refine_alpha(alpha, grey, settings).shape == alpha.shape


def test_best_places_the_edge_and_balanced_does_not() -> None:
    best = resolve_model("isnet-general-mirror").engine
    balanced = resolve_model("isnet-general").engine
    assert isinstance(best, RefinedEngine) and isinstance(balanced, RefinedEngine)
    assert best.mirror and best.refine is not None and best.refine.edge_levels == LEVELS
    assert balanced.refine == DEFAULT_REFINE and DEFAULT_REFINE.edge_levels == ()
    # Everything else in `best`'s refinement is the default's.
    assert best.refine.contrast_low == DEFAULT_REFINE.contrast_low
    assert best.refine.speck_fraction == DEFAULT_REFINE.speck_fraction


class _ShiftedDiscSession:
    """A stand-in model: a soft disc 2 px larger than the photo's (the same every call)."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, object]) -> list[object]:
        _, alpha = _disc_photo_and_alpha(size=64, radius=16, shift=2.0)
        return [alpha[None, None]]


def test_best_engine_places_the_edge_deterministically() -> None:
    photo, _ = _disc_photo_and_alpha(size=64, radius=16)
    image = Image.fromarray(photo)
    best = resolve_model("isnet-general-mirror").engine
    assert isinstance(best, RefinedEngine) and best.refine is not None

    def engine(refine: RefineSettings) -> TunedIsnetSegmenter:
        return TunedIsnetSegmenter(session=_ShiftedDiscSession(), refine=refine, mirror=True)

    first = engine(best.refine).predict(image)
    plain = engine(DEFAULT_REFINE).predict(image)
    np.testing.assert_array_equal(first, engine(best.refine).predict(image))
    assert np.count_nonzero(first >= 128) < np.count_nonzero(plain >= 128)
