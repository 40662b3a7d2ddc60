from __future__ import annotations

import numpy as np
import pytest

from backdrop.engines.studio.presets import PRESETS
from backdrop.engines.studio.scenes import Stage, render_scene


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.recipe.name)
def test_every_preset_paints_a_finite_scene_with_depth(preset) -> None:  # type: ignore[no-untyped-def]
    stage = Stage(64, 48, 0.55, 0.8, 0.4, 0.6, 0.3, seed=1)
    scene = render_scene(preset.recipe, stage)
    assert scene.image.shape == (48, 64, 3) and scene.depth.shape == (48, 64)
    assert np.isfinite(scene.image).all()
    assert scene.image.min() >= 0 and scene.image.max() <= 1.0001
    assert scene.image.std() > 0.005  # not a flat fill
