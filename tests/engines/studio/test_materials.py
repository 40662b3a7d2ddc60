from __future__ import annotations

import numpy as np
import pytest

from backdrop.engines.studio.materials import MATERIAL_TEXTURES, Textures, texture
from backdrop.engines.studio.recipe import MATERIALS


@pytest.mark.parametrize("material", MATERIALS)
def test_every_material_textures_around_its_colour(material: str) -> None:
    textures = Textures(np.random.default_rng(0))
    u, v = np.meshgrid(
        np.linspace(-1, 1, 64, dtype=np.float32), np.linspace(1, 3, 48, dtype=np.float32)
    )
    base = np.asarray([0.5, 0.4, 0.3], dtype=np.float32)
    out = texture(material, u, v, base, textures)
    assert material in MATERIAL_TEXTURES
    assert out.shape == (48, 64, 3)
    assert np.abs(out.reshape(-1, 3).mean(axis=0) - base).max() < 0.2
