"""The colour-guided edge-band refinement (engines/edge_band.py) on test-made photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backdrop.engines import edge_band
from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.edge_band import colour_guided_filter, refine_edge_band, uncertain_band
from backdrop.engines.refine import DEFAULT_REFINE, RefineSettings, refine_alpha
from backdrop.engines.segmentation import RefinedEngine, TunedIsnetSegmenter


def _photo_and_blurry_alpha(size: int = 96, edge: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """A red subject left of column `edge` on a blue ground, and an alpha whose edge is a
    4 px ramp centred 1.5 px right of the photo's edge (a model's soft, shifted edge)."""
    rng = np.random.default_rng(0)
    photo = np.zeros((size, size, 3), np.uint8)
    photo[:, :edge] = (200, 40, 30)
    photo[:, edge:] = (20, 60, 190)
    photo = np.clip(photo + rng.integers(-6, 7, photo.shape), 0, 255).astype(np.uint8)
    columns = np.arange(size, dtype=np.float32)
    ramp = np.clip((edge + 1.5 - columns) / 4 + 0.5, 0, 1)
    alpha = np.repeat(ramp[None, :], size, axis=0).astype(np.float32)
    return photo, alpha


def test_the_edge_moves_to_the_photos_colour_edge() -> None:
    photo, alpha = _photo_and_blurry_alpha()
    refined = refine_edge_band(alpha.copy(), photo, radius=2, eps=1e-4, grow=1)
    before = (alpha >= 0.5).sum(axis=1).mean()
    after = (refined >= 0.5).sum(axis=1).mean()
    assert before == 42  # columns 0..41
    assert 40 <= after < before - 0.3  # towards the photo's edge, never past it


def test_only_the_band_changes() -> None:
    photo, alpha = _photo_and_blurry_alpha()
    band = uncertain_band(alpha, 1)
    refined = refine_edge_band(alpha.copy(), photo, radius=2, eps=1e-4, grow=1)
    assert band.any() and not band.all()
    np.testing.assert_array_equal(refined[~band], alpha[~band])
    assert refined.min() >= 0.0 and refined.max() <= 1.0


def test_tiles_give_the_same_alpha_as_the_whole_photo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiles (bounded memory on large photos) read the alpha as it came in, so where the
    tiles fall changes nothing: the result is the filter of the whole photo in the band."""
    photo, alpha = _photo_and_blurry_alpha()
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 50) ** 2 + (xx - 45) ** 2 < 30**2  # an edge through every tile boundary
    photo[disc], photo[~disc] = (200, 40, 30), (20, 60, 190)
    distance = np.sqrt((yy - 50) ** 2 + (xx - 46) ** 2) - 30
    alpha = np.clip(0.5 - distance / 4, 0, 1).astype(np.float32)
    whole = colour_guided_filter(photo, alpha, 2, 1e-4)
    band = uncertain_band(alpha, 1)
    monkeypatch.setattr(edge_band, "_TILE", 16)
    refined = refine_edge_band(alpha.copy(), photo, radius=2, eps=1e-4, grow=1)
    np.testing.assert_allclose(refined[band], np.clip(whole[band], 0, 1), atol=1e-6)


def test_refine_alpha_runs_it_when_asked_and_is_deterministic() -> None:
    photo, alpha = _photo_and_blurry_alpha()
    settings = RefineSettings(contrast_low=0.4, contrast_high=0.6, edge_band_radius=2)
    first = refine_alpha(alpha, photo, settings)
    again = refine_alpha(alpha, photo, settings)
    plain = refine_alpha(alpha, photo, RefineSettings(contrast_low=0.4, contrast_high=0.6))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, plain)
    assert 40 <= (first >= 128).sum(axis=1).mean() < (plain >= 128).sum(axis=1).mean()


def test_a_grey_photo_is_used_as_rgb() -> None:
    photo, alpha = _photo_and_blurry_alpha()
    grey = photo.mean(axis=2).astype(np.uint8)
    settings = RefineSettings(edge_band_radius=2)
    assert refine_alpha(alpha, grey, settings).shape == alpha.shape


def test_best_runs_it_and_balanced_does_not() -> None:
    best = resolve_model("isnet-general-mirror").engine
    balanced = resolve_model("isnet-general").engine
    assert isinstance(best, RefinedEngine) and isinstance(balanced, RefinedEngine)
    assert best.mirror and best.refine is not None and best.refine.edge_band_radius == 2
    assert balanced.refine == DEFAULT_REFINE and DEFAULT_REFINE.edge_band_radius == 0
    # Everything else in `best`'s refinement is the default's.
    assert best.refine.contrast_low == DEFAULT_REFINE.contrast_low
    assert best.refine.speck_fraction == DEFAULT_REFINE.speck_fraction


class _SoftEdgeSession:
    """A stand-in model: a soft disc, whatever the input (the same every call)."""

    def run(self, output_names: list[str] | None, input_feed: dict[str, object]) -> list[object]:
        yy, xx = np.mgrid[:64, :64]
        distance = np.sqrt((yy - 30.0) ** 2 + (xx - 33.0) ** 2) - 18
        return [np.clip(0.5 - distance / 6, 0, 1).astype(np.float32)[None, None]]


def test_best_engine_applies_it_deterministically() -> None:
    photo, _ = _photo_and_blurry_alpha()
    yy, xx = np.mgrid[:96, :96]
    disc = (yy - 45) ** 2 + (xx - 48) ** 2 < 26**2
    photo[disc], photo[~disc] = (200, 40, 30), (20, 60, 190)
    image = Image.fromarray(photo)
    best = resolve_model("isnet-general-mirror").engine
    assert isinstance(best, RefinedEngine)

    def engine(refine: RefineSettings) -> TunedIsnetSegmenter:
        return TunedIsnetSegmenter(session=_SoftEdgeSession(), refine=refine, mirror=True)

    first = engine(best.refine or DEFAULT_REFINE).predict(image)
    again = engine(best.refine or DEFAULT_REFINE).predict(image)
    plain = engine(DEFAULT_REFINE).predict(image)
    np.testing.assert_array_equal(first, again)
    changed = first != plain
    assert changed.any()
    # Only along the edge: nothing changes far inside or far outside the subject.
    assert not changed[45, 48] and not changed[2, 2]
