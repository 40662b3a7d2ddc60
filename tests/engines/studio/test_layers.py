from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import (
    blur_precise,
    fbm,
    noise_tile,
    profile,
    sample,
    silhouette,
    vertical_gradient,
)


def test_noise_is_deterministic_and_in_range() -> None:
    a = fbm(40, 30, 4, np.random.default_rng(1))
    b = fbm(40, 30, 4, np.random.default_rng(1))
    assert a.shape == (30, 40) and np.array_equal(a, b)
    assert a.min() >= -0.1 and a.max() <= 1.1


def test_noise_tile_wraps() -> None:
    tile = noise_tile(64, np.random.default_rng(0))
    u = np.asarray([[0.25, 1.25]], dtype=np.float32)
    v = np.asarray([[0.5, 2.5]], dtype=np.float32)
    values = sample(tile, u, v)
    assert values[0, 0] == values[0, 1]


def test_gradient_profile_and_silhouette() -> None:
    g = vertical_gradient(10, 4, [(0.0, np.zeros(3, np.float32)), (1.0, np.ones(3, np.float32))])
    assert g[0, 0, 0] < g[-1, 0, 0]
    tops = np.full(5, 0.5, dtype=np.float32)
    mask = silhouette(10, tops)
    assert mask[:4].max() == 0 and mask[6:].min() == 1
    assert np.abs(profile(100, np.random.default_rng(0), features=3)).max() <= 1.5


def test_precise_blur_keeps_the_total_and_stays_centred() -> None:
    a = np.zeros((41, 41), dtype=np.float32)
    a[20, 20] = 1
    b = blur_precise(a, 4)
    assert abs(float(b.sum()) - 1) < 1e-4
    assert np.unravel_index(b.argmax(), b.shape) == (20, 20)
