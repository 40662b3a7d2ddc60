"""Water: a beach with the sea, a lake with reflections, the world under water."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import (
    F,
    blend,
    bokeh,
    fbm,
    grid,
    light_rays,
    rgb,
    screen,
    smoothstep,
    vertical_gradient,
)
from backdrop.engines.studio.lighting import sky_colors, sun_position
from backdrop.engines.studio.materials import Textures, texture
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import deck, floor_coordinates, floor_depth, ridge, sky
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    if recipe.scene is SceneKind.UNDERWATER:
        return _underwater(recipe, stage, textures)
    h = stage.horizon
    image = sky(stage, recipe)
    _, haze = sky_colors(recipe.light, rgb(recipe.palette.primary))
    if recipe.scene is SceneKind.LAKE:
        hills = np.asarray([0.25, 0.36, 0.3], dtype=np.float32)
        image, _ = ridge(
            stage,
            image,
            hills,
            haze,
            top=h - 0.05,
            amplitude=0.06,
            features=2,
            distance=0.45,
            salt="hills",
        )
    sea = _sea(recipe, stage, image, haze)
    _, y = grid(stage.width, stage.height)
    water_mask = np.broadcast_to(
        smoothstep(h - 0.002, h + 0.003, y), (stage.height, stage.width)
    ).astype(np.float32)
    image = blend(image, sea, water_mask)
    if Feature.DECK in recipe.features or (
        recipe.scene is SceneKind.BEACH and recipe.material != "sand"
    ):
        # A deck by the sea ("yacht deck with teak wood"): the named surface runs from the
        # camera to the railing, the sea beyond it.
        image, sand_mask = deck(recipe, stage, image, textures)
    elif recipe.scene is SceneKind.BEACH:
        image, sand_mask = _beach(recipe, stage, image, textures)
    else:
        sand_mask = np.zeros_like(water_mask)
    depth = np.maximum(floor_depth(stage) * water_mask, 1.0 - water_mask)
    depth = np.where(sand_mask > 0.5, floor_depth(stage), depth)
    return Scene(image, depth.astype(np.float32))


def _sea(recipe: Recipe, stage: Stage, image: F, haze: F) -> F:
    """The sea below the horizon: sky reflection far, its own colour near, ripples, sun glitter."""
    h = stage.horizon
    deep = rgb(recipe.palette.secondary)
    _, v, _ = floor_coordinates(stage)
    x, y = grid(stage.width, stage.height)
    t = np.clip((y - h) / max(1 - h, 0.05), 0, 1)
    water = (haze * 0.6 + deep * 0.4) + (deep - (haze * 0.6 + deep * 0.4)) * np.sqrt(t)[..., None]
    water = np.broadcast_to(water, image.shape).astype(np.float32)
    ripples = np.sin(
        v * 30 + fbm(stage.width, stage.height, 6, stage.rng("ripple"), octaves=2, stretch=6) * 12
    )
    water = (water * (1 + 0.06 * ripples[..., None])).astype(np.float32)
    if Feature.SUN in recipe.features:
        sx, _ = sun_position(recipe.light, h)
        path = np.exp(-(((x - sx) * 6) ** 2) * (1 + 0.3 / np.maximum(t, 0.02)))
        glitter = path * np.clip(ripples, 0, 1) ** 3
        water = screen(
            water, rgb(recipe.palette.accent), np.clip(glitter * 1.3, 0, 1).astype(np.float32)
        )
    result: F = water
    return result


def _beach(recipe: Recipe, stage: Stage, image: F, textures: Textures) -> tuple[F, F]:
    """Sand from a wavy shoreline down to the camera, with a line of foam."""
    h = stage.horizon
    shore = h + (stage.base - h) * 0.35
    x, y = grid(stage.width, stage.height)
    wave = 0.012 * np.sin(x * 9 + 1.3) + 0.006 * np.sin(x * 23)
    edge = shore + wave
    sand_mask = smoothstep(0.0, 0.004, y - edge).astype(np.float32)
    u, v, _ = floor_coordinates(stage)
    sand_color = rgb(recipe.palette.accent) * 0.9
    sand = texture("sand", u, v, sand_color.astype(np.float32), textures)
    wet = np.exp(-np.maximum(y - edge, 0) * 40)
    sand = (sand * (1 - 0.25 * wet[..., None])).astype(np.float32)
    foam = np.exp(-(((y - edge + 0.006) * stage.height / 3) ** 2)) * (0.6 + 0.4 * np.sin(x * 60))
    image = blend(image, np.ones(3, dtype=np.float32), np.clip(foam, 0, 1).astype(np.float32) * 0.7)
    return blend(image, sand, sand_mask), sand_mask


def _underwater(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    """Blue-green depth, light shafts from the surface, floating particles, a sandy bottom."""
    top, bottom = rgb(recipe.palette.primary), rgb(recipe.palette.secondary)
    image = vertical_gradient(
        stage.height,
        stage.width,
        [(0.0, np.clip(top * 1.5, 0, 1).astype(np.float32)), (0.55, top), (1.0, bottom)],
    )
    rays = light_rays(
        stage.width, stage.height, stage.rng("rays"), source_x=0.5 + recipe.light.direction * 0.2
    )
    image = screen(image, rgb(recipe.palette.accent), rays * 0.45)
    caustic = fbm(stage.width, stage.height, 10, stage.rng("caustic"), octaves=2)
    u, v, mask = floor_coordinates(stage)
    floor = texture(
        "sand",
        u,
        v,
        (bottom * 0.5 + np.asarray([0.45, 0.42, 0.32], dtype=np.float32) * 0.5).astype(np.float32),
        textures,
    )
    floor = (floor * (0.85 + 0.35 * np.abs(caustic - 0.5)[..., None] * 2)).astype(np.float32)
    _, y = grid(stage.width, stage.height)
    floor = blend(
        floor,
        top,
        np.clip(1 - (y - stage.horizon) * 5, 0, 1).astype(np.float32) * np.ones_like(mask),
    )
    image = blend(image, floor, mask)
    particles = bokeh(
        stage.width,
        stage.height,
        stage.rng("particles"),
        [rgb(recipe.palette.accent)],
        count=45,
        size=0.008,
    )
    image = np.clip(image + particles * 0.5, 0, 1).astype(np.float32)
    depth = np.maximum(floor_depth(stage) * mask, 1.0 - mask)
    return Scene(image, depth.astype(np.float32))
