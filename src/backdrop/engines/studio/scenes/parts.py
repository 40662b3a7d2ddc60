"""The pieces scene modules share: floors, skies, ridges, fog and decks, painted on a stage."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import (
    F,
    blend,
    clouds,
    fbm,
    grid,
    profile,
    radial,
    rgb,
    silhouette,
    smoothstep,
)
from backdrop.engines.studio.lighting import sky_colors, sun_position
from backdrop.engines.studio.materials import MATERIAL_COLORS, Textures, texture
from backdrop.engines.studio.recipe import Feature, Recipe
from backdrop.engines.studio.stage import Stage


def far(stage: Stage) -> F:
    return np.ones((stage.height, stage.width), dtype=np.float32)


def floor_coordinates(stage: Stage) -> tuple[F, F, F]:
    """(u, v, mask) of the floor plane below the horizon; v = 1 at the subject's base."""
    x, y = grid(stage.width, stage.height)
    drop = max(stage.base - stage.horizon, 0.04)
    below = np.maximum(y - stage.horizon, 1e-3)
    v = np.broadcast_to(drop / below, (stage.height, stage.width)).astype(np.float32)
    u = ((x - stage.center) * stage.aspect * v).astype(np.float32)
    mask = np.broadcast_to(
        smoothstep(stage.horizon - 0.002, stage.horizon + 0.004, y), (stage.height, stage.width)
    )
    return u, v, mask.astype(np.float32)


def floor_depth(stage: Stage) -> F:
    """Depth of the floor: 0 at the subject's base, rising towards the horizon and the camera."""
    _, v, _ = floor_coordinates(stage)
    result: F = np.clip(np.abs(np.log(np.maximum(v, 1e-3))) * 0.6, 0.0, 1.0).astype(np.float32)
    return result


def surface(
    stage: Stage, recipe: Recipe, color: F, textures: Textures, *, haze: F | None = None
) -> tuple[F, F]:
    """The floor in the recipe's material and `color`, hazed at the horizon: (rgb, mask)."""
    u, v, mask = floor_coordinates(stage)
    painted = texture(recipe.material, u, v, color, textures)
    if haze is not None:
        distance = np.clip((v - 1.0) / 6.0, 0.0, 1.0) ** 0.7
        painted = blend(painted, haze, distance * 0.6)
    return painted, mask


def material_color(recipe: Recipe, fallback: F) -> F:
    """A surface colour: the palette's secondary, unless it is far from the material's nature."""
    own = rgb(MATERIAL_COLORS.get(recipe.material, (200, 200, 200)))
    result: F = (fallback * 0.75 + own * 0.25).astype(np.float32)
    return result


def sky(stage: Stage, recipe: Recipe, *, horizon: float | None = None) -> F:
    """A sky down to `horizon`: gradient, sun glow, clouds and stars as the recipe asks."""
    level = stage.horizon if horizon is None else horizon
    light = recipe.light
    zenith, low = sky_colors(light, rgb(recipe.palette.primary))
    _, y = grid(stage.width, stage.height)
    t = np.clip(y / max(level, 0.05), 0.0, 1.0) ** 1.4
    image = (zenith + (low - zenith) * t[..., None]).astype(np.float32)
    image = np.broadcast_to(image, (stage.height, stage.width, 3)).copy()
    features = recipe.features
    if Feature.SUN in features:
        sx, sy = sun_position(light, level)
        glow = radial(stage.width, stage.height, sx, sy, 0.55)
        image = blend(image, rgb(recipe.palette.accent), glow * 0.75)
        disc = radial(stage.width, stage.height, sx, sy, 0.045)
        image = blend(
            image, np.asarray([1.0, 0.97, 0.88], dtype=np.float32), np.clip(disc * 6, 0, 1)
        )
    if Feature.CLOUDS in features:
        density = clouds(stage.width, stage.height, stage.rng("clouds"), cover=0.42)
        density = density * np.clip(1.2 - y / max(level, 0.05), 0, 1)
        lit = np.clip(low * 0.4 + 0.65, 0, 1)
        image = blend(image, lit.astype(np.float32), density * 0.85)
    if Feature.STARS in features:
        rng = stage.rng("stars")
        stars = (rng.random((stage.height, stage.width), dtype=np.float32) > 0.9965).astype(
            np.float32
        )
        stars *= rng.random((stage.height, stage.width), dtype=np.float32) * np.clip(
            1 - y / max(level, 0.05), 0, 1
        )
        image = np.clip(image + stars[..., None] * 0.9, 0, 1).astype(np.float32)
    result: F = image
    return result


def ridge(
    stage: Stage,
    image: F,
    color: F,
    haze: F,
    *,
    top: float,
    amplitude: float,
    features: float,
    distance: float,
    salt: str,
    ridged: bool = False,
    lit: float = 0.0,
    light_dir: float = 0.0,
) -> tuple[F, F]:
    """A range of hills or peaks drawn over `image`, hazed by distance; (image, mask)."""
    heights = profile(stage.width, stage.rng(salt), features=features, ridged=ridged)
    tops = (top - amplitude * heights).astype(np.float32)
    mask = silhouette(stage.height, tops)
    shade = np.ones_like(mask)
    if lit:
        # Slopes facing the light are brighter: the sign of the slope against the light's side.
        slope = np.gradient(tops) * stage.width
        # Smoothed along the range, so faces change gradually instead of in stripes.
        kernel = np.ones(max(3, stage.width // 40), dtype=np.float32)
        slope = np.convolve(slope, kernel / kernel.size, mode="same")
        facing = np.clip(-slope * np.sign(light_dir or 1.0) * 2.0, -1.0, 1.0)
        shade = (1.0 + lit * facing)[None, :] * np.ones_like(mask)
        _, y = grid(stage.width, stage.height)
        shade = shade * (1.0 - 0.25 * np.clip((y - tops[None, :]) / max(amplitude * 2, 0.05), 0, 1))
    body = np.clip(color[None, None, :] * shade[..., None], 0, 1)
    body = blend(body.astype(np.float32), haze, distance)
    return blend(image, body, mask), mask


def fog(stage: Stage, image: F, color: F, amount: float, *, salt: str = "fog") -> F:
    """Drifting fog, thicker low in the frame."""
    _, y = grid(stage.width, stage.height)
    density = fbm(stage.width, stage.height, 3.0, stage.rng(salt), octaves=3, stretch=3.0)
    mask = np.clip(density * 1.3 - 0.2, 0, 1) * np.clip(0.3 + y, 0, 1) * amount
    return blend(image, color, mask.astype(np.float32))


def deck(recipe: Recipe, stage: Stage, image: F, textures: Textures) -> tuple[F, F]:
    """A deck, porch or terrace in front: planks (or the named surface) from the camera to a
    dark railing line part-way to the horizon, the view beyond it: (image, deck mask)."""
    edge = stage.horizon + (stage.base - stage.horizon) * 0.35
    u, v, _ = floor_coordinates(stage)
    material = recipe.material if recipe.material in DECK_MATERIALS else "wood"
    color = (rgb(MATERIAL_COLORS.get(material, (200, 200, 200))) * 0.8).astype(np.float32)
    planks = texture(material, u, v, color, textures)
    _, y = grid(stage.width, stage.height)
    mask = np.broadcast_to(smoothstep(edge - 0.002, edge + 0.002, y), planks.shape[:2])
    rail = np.exp(-(((y - edge) * stage.height / 2.0) ** 2)).astype(np.float32)
    planks = blend(planks, planks * 0.5, np.broadcast_to(rail, planks.shape[:2]).astype(np.float32))
    mask = mask.astype(np.float32)
    return blend(image, planks, mask), mask


# Surfaces a deck may be made of when the prompt names one; any other is wood.
DECK_MATERIALS = frozenset({"wood", "stone", "concrete", "tiles", "granite", "marble"})
