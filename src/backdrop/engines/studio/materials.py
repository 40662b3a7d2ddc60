"""Surface materials as textures of world coordinates, so floors can be laid in perspective.

`u` runs left-right and `v` away from the camera, in units of the image height at the depth
where the subject stands; a material returns colour (h, w, 3) around the given base colour.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backdrop.engines.studio.layers import F, noise_tile, sample, smoothstep


class Textures:
    """Noise tiles shared by the materials of one render."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.coarse = noise_tile(128, rng, cells=4, octaves=4)
        self.fine = noise_tile(128, rng, cells=16, octaves=2)


def _tint(base: F, shade: F) -> F:
    """The base colour brightened or darkened per pixel by `shade` (1 = unchanged)."""
    result: F = (base[None, None, :] * shade[..., None]).astype(np.float32)
    return result


def _mix(base: F, other: F, amount: F) -> F:
    result: F = (base[None, None, :] + (other - base)[None, None, :] * amount[..., None]).astype(
        np.float32
    )
    return result


def paper(u: F, v: F, base: F, t: Textures) -> F:
    return _tint(base, 1.0 + 0.015 * (sample(t.coarse, u * 0.3, v * 0.3) - 0.5))


def plaster(u: F, v: F, base: F, t: Textures) -> F:
    shade = (
        1.0
        + 0.06 * (sample(t.coarse, u * 0.8, v * 0.8) - 0.5)
        + 0.04 * (sample(t.fine, u * 3, v * 3) - 0.5)
    )
    return _tint(base, shade)


def marble(u: F, v: F, base: F, t: Textures) -> F:
    turbulence = sample(t.coarse, u * 0.35, v * 0.35) * 7.0
    veins = np.exp(-np.abs(np.sin((u * 1.3 + v * 0.7 + turbulence) * np.pi)) * 9.0)
    fine = np.exp(-np.abs(np.sin((u * 3.1 - v * 1.7 + turbulence * 1.7) * np.pi)) * 16.0)
    vein_color = base * np.asarray([0.62, 0.64, 0.68], dtype=np.float32)
    amount = np.clip(veins * 0.55 + fine * 0.3, 0, 1).astype(np.float32)
    cloud = 1.0 + 0.05 * (sample(t.coarse, u * 0.9 + 3, v * 0.9) - 0.5)
    result: F = (_mix(base, vein_color, amount) * cloud[..., None]).astype(np.float32)
    return result


def wood(u: F, v: F, base: F, t: Textures) -> F:
    plank_width = 0.22
    plank = np.floor(v / plank_width)
    tone = 1.0 + 0.16 * (np.sin(plank * 12.9898) * 0.5)
    warp = sample(t.coarse, u * 0.15, v * 1.5) * 3.0
    rings = np.sin((v * 38.0 + warp * 6.0 + plank * 3.1) + u * 0.8) * 0.5 + 0.5
    streaks = sample(t.fine, u * 0.6, v * 6.0)
    shade = tone * (0.86 + 0.14 * rings) * (0.92 + 0.16 * streaks)
    seam = smoothstep(0.0, 0.04, np.abs((v / plank_width) - np.round(v / plank_width)))
    result: F = _tint(base, (shade * (0.55 + 0.45 * seam)).astype(np.float32))
    return result


def concrete(u: F, v: F, base: F, t: Textures) -> F:
    blotches = sample(t.coarse, u * 0.5, v * 0.5)
    pores = sample(t.fine, u * 9, v * 9)
    shade = 0.86 + 0.26 * blotches + 0.08 * (pores - 0.5) - 0.12 * (pores > 0.78)
    return _tint(base, shade.astype(np.float32))


def granite(u: F, v: F, base: F, t: Textures) -> F:
    grains = sample(t.fine, u * 14, v * 14)
    flecks = sample(t.fine, u * 23 + 5, v * 23 + 7)
    shade = 1.0 + 0.6 * (grains > 0.72) * (grains - 0.72) * 4 - 0.25 * (flecks < 0.3)
    shade = shade + 0.1 * (sample(t.coarse, u, v) - 0.5)
    return _tint(base + 0.05, shade.astype(np.float32))


def stone(u: F, v: F, base: F, t: Textures) -> F:
    cells = sample(t.coarse, u * 1.4, v * 1.4)
    crevices = smoothstep(0.0, 0.06, np.abs(cells - 0.5))
    grit = sample(t.fine, u * 8, v * 8)
    shade = (0.55 + 0.45 * crevices) * (0.85 + 0.3 * grit)
    return _tint(base, shade.astype(np.float32))


def sand(u: F, v: F, base: F, t: Textures) -> F:
    warp = sample(t.coarse, u * 0.4, v * 0.4) * 4.0
    ripples = np.sin(v * 28.0 + warp * 3.0 + u * 2.0) * 0.5 + 0.5
    grit = sample(t.fine, u * 20, v * 20)
    shade = (
        0.9 + 0.1 * ripples + 0.1 * (grit - 0.5) + 0.08 * (sample(t.coarse, u * 0.2, v * 0.2) - 0.5)
    )
    return _tint(base, shade.astype(np.float32))


def linen(u: F, v: F, base: F, t: Textures) -> F:
    # The weave fades out with distance before it gets finer than the pixels (moiré).
    weave = np.sin(u * 260.0) * np.sin(v * 260.0) * np.clip(2.2 - v, 0.0, 1.0)
    slubs = sample(t.fine, u * 2.0, v * 30.0)
    folds = sample(t.coarse, u * 0.5, v * 0.12)
    shade = 0.94 + 0.025 * weave + 0.06 * (slubs - 0.5) + 0.14 * (folds - 0.5)
    return _tint(base, shade.astype(np.float32))


def tiles(u: F, v: F, base: F, t: Textures) -> F:
    size = 0.3
    fu, fv = u / size, v / size
    edge = np.minimum(np.abs(fu - np.round(fu)), np.abs(fv - np.round(fv)))
    grout = 1.0 - smoothstep(0.0, 0.05, edge)
    tone = 1.0 + 0.04 * np.sin(np.floor(fu) * 12.9898 + np.floor(fv) * 78.233)
    gloss = 1.0 + 0.04 * (sample(t.coarse, u * 0.6, v * 0.6) - 0.5)
    shade = tone * gloss * (1.0 - 0.22 * grout)
    return _tint(base, shade.astype(np.float32))


def moss(u: F, v: F, base: F, t: Textures) -> F:
    clumps = sample(t.coarse, u * 2.5, v * 2.5)
    tufts = sample(t.fine, u * 18, v * 18)
    shade = 0.55 + 0.5 * clumps + 0.35 * (tufts - 0.5)
    light = np.asarray([1.0, 1.04, 0.85], dtype=np.float32)
    result: F = (_tint(base, shade.astype(np.float32)) * light).astype(np.float32)
    return result


def snow(u: F, v: F, base: F, t: Textures) -> F:
    drifts = sample(t.coarse, u * 0.5, v * 0.6)
    sparkle = (sample(t.fine, u * 40, v * 40) > 0.86) * 0.08
    shade = 0.9 + 0.12 * drifts + sparkle
    cool = np.asarray([0.96, 0.98, 1.03], dtype=np.float32)
    result: F = (_tint(base, shade.astype(np.float32)) * cool).astype(np.float32)
    return result


def grass(u: F, v: F, base: F, t: Textures) -> F:
    blades = sample(t.fine, u * 40, v * 4)
    patches = sample(t.coarse, u * 0.8, v * 0.8)
    shade = 0.65 + 0.35 * blades + 0.3 * (patches - 0.5)
    return _tint(base, shade.astype(np.float32))


MATERIAL_TEXTURES: dict[str, Callable[[F, F, F, Textures], F]] = {
    "paper": paper,
    "plaster": plaster,
    "marble": marble,
    "wood": wood,
    "concrete": concrete,
    "granite": granite,
    "stone": stone,
    "sand": sand,
    "linen": linen,
    "tiles": tiles,
    "moss": moss,
    "snow": snow,
    "grass": grass,
    "water": plaster,
}

# A material's own colour, used when the palette does not say (the scene may tint it).
MATERIAL_COLORS: dict[str, tuple[int, int, int]] = {
    "paper": (236, 236, 234),
    "plaster": (226, 220, 210),
    "marble": (238, 236, 233),
    "wood": (150, 104, 66),
    "concrete": (150, 147, 142),
    "granite": (40, 40, 42),
    "stone": (128, 124, 116),
    "sand": (226, 196, 150),
    "linen": (222, 210, 190),
    "tiles": (240, 242, 242),
    "moss": (88, 116, 52),
    "snow": (240, 244, 250),
    "grass": (92, 130, 60),
    "water": (60, 110, 140),
}


def texture(material: str, u: F, v: F, base: F, t: Textures) -> F:
    """The material's colour at each (u, v), around `base`."""
    return MATERIAL_TEXTURES.get(material, plaster)(u, v, base, t)
