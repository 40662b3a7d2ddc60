"""Studio settings: a seamless sweep, a gradient, a colour block, a podium."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from backdrop.engines.studio.layers import (
    F,
    blend,
    grid,
    radial,
    rgb,
    smoothstep,
    vertical_gradient,
)
from backdrop.engines.studio.materials import Textures, texture
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import floor_coordinates, floor_depth
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    if recipe.scene is SceneKind.GRADIENT:
        return _gradient(recipe, stage)
    image = _sweep(recipe, stage, textures)
    if recipe.scene is SceneKind.COLOR_BLOCK:
        image = _color_block(recipe, stage, textures, image)
    if recipe.scene is SceneKind.PODIUM or Feature.PODIUM in recipe.features:
        image = _podium(recipe, stage, image)
    if Feature.SPOTLIGHT in recipe.features:
        image = _spotlight(recipe, stage, image)
    depth = np.clip(floor_depth(stage) * 0.5, 0, 1)
    return Scene(image, depth.astype(np.float32))


def _sweep(recipe: Recipe, stage: Stage, textures: Textures) -> F:
    """Paper curving from wall to floor: lit wall, soft bend, floor falling off to the camera."""
    wall_top, wall, floor = (
        rgb(recipe.palette.primary),
        rgb(recipe.palette.primary),
        rgb(recipe.palette.secondary),
    )
    wall_top = wall_top * 0.9
    image = vertical_gradient(
        stage.height, stage.width, [(0.0, wall_top), (stage.horizon, wall), (1.0, floor * 0.94)]
    )
    _, y = grid(stage.width, stage.height)
    bend = smoothstep(stage.horizon - 0.06, stage.horizon + 0.1, y)
    image = blend(image, floor, bend * 0.6)
    _, v, _ = floor_coordinates(stage)
    x, _ = grid(stage.width, stage.height)
    wall_texture = texture(
        "paper",
        np.broadcast_to(x * 3, v.shape).astype(np.float32),
        np.broadcast_to(y * 3, v.shape).astype(np.float32),
        np.ones(3, np.float32),
        textures,
    )
    image = (image * wall_texture).astype(np.float32)
    # A pool of key light on the wall behind the subject.
    pool = radial(
        stage.width,
        stage.height,
        stage.center + recipe.light.direction * 0.15,
        stage.horizon * 0.6,
        0.75,
    )
    image = np.clip(image * (1.0 + 0.1 * pool[..., None] * recipe.light.brightness), 0, 1).astype(
        np.float32
    )
    return image


def _gradient(recipe: Recipe, stage: Stage) -> Scene:
    """A radial gradient: lit behind the subject, deepening to the edges; no visible floor."""
    center, edge = rgb(recipe.palette.primary), rgb(recipe.palette.secondary)
    glow = radial(stage.width, stage.height, stage.center, (stage.top + stage.base) / 2, 1.1)
    image = np.broadcast_to(edge, (stage.height, stage.width, 3)).astype(np.float32)
    image = blend(image, center, np.clip(glow * 1.6, 0, 1))
    _, y = grid(stage.width, stage.height)
    image = blend(image, edge, np.broadcast_to(y * 0.25, glow.shape).astype(np.float32))
    return Scene(image.astype(np.float32), np.full(glow.shape, 0.3, dtype=np.float32))


def _color_block(recipe: Recipe, stage: Stage, textures: Textures, image: F) -> F:
    """The set split in two colours: from mid-subject down, wall and floor in the second one.

    The lower part is its own sweep in the second colour (not a tint of the first), so a
    cream stays cream instead of being multiplied into yellow."""
    _, y = grid(stage.width, stage.height)
    split = stage.top + (stage.base - stage.top) * 0.45
    lower = smoothstep(split - 0.002, split + 0.002, y)
    second = recipe.palette.secondary
    two_tone = replace(recipe, palette=replace(recipe.palette, primary=second))
    painted = _sweep(two_tone, stage, textures)
    return blend(image, painted, np.broadcast_to(lower, image.shape[:2]).astype(np.float32))


def _podium(recipe: Recipe, stage: Stage, image: F) -> F:
    """A cylinder under the subject: its top at the subject's base, shaded from the light side."""
    x, y = grid(stage.width, stage.height)
    half = max((stage.right - stage.left) * 0.8, 0.12)
    rx = half
    ry = rx * stage.aspect * 0.16
    top_y = stage.base
    bottom_y = min(0.995, top_y + 0.28)
    dx = (x - stage.center) / rx
    inside_x = np.abs(dx) <= 1
    curve = np.sqrt(np.clip(1 - dx * dx, 0, 1)) * ry
    side = inside_x & (y >= top_y) & (y <= bottom_y + curve)
    cap = ((x - stage.center) / rx) ** 2 + ((y - top_y) / max(ry, 1e-3)) ** 2 <= 1
    color = rgb(recipe.palette.accent)
    lightness = 1.0 - 0.22 * np.clip(dx * np.sign(recipe.light.direction or -1.0) * -1, -1, 1)
    body = np.clip(color * (lightness * 0.88)[..., None] * np.ones_like(y)[..., None], 0, 1).astype(
        np.float32
    )
    image = blend(image, body, side.astype(np.float32))
    image = blend(image, np.clip(color * 1.04, 0, 1).astype(np.float32), cap.astype(np.float32))
    return image


def _spotlight(recipe: Recipe, stage: Stage, image: F) -> F:
    """A single spot from above: a soft cone down the backdrop and a bright pool on the floor
    around the subject, the rest of the set falling into shadow."""
    x, y = grid(stage.width, stage.height)
    width = max(stage.right - stage.left, 0.15) * 0.9
    spread = width * (0.6 + 0.8 * np.clip(y / max(stage.base, 0.1), 0.0, 1.0))
    cone = np.exp(-(((x - stage.center) / spread) ** 2)) * np.clip(
        y / max(stage.base, 0.1), 0.2, 1.0
    )
    pool = radial(stage.width, stage.height, stage.center, stage.base, width * 1.4)
    light = np.clip(cone * 0.55 + pool * 0.9, 0.0, 1.0).astype(np.float32)
    warm = np.clip(rgb(recipe.palette.accent) * 0.9 + 0.1, 0, 1).astype(np.float32)
    dimmed = (image * 0.55).astype(np.float32)
    return blend(dimmed, np.clip(image * 0.4 + warm * 0.75, 0, 1).astype(np.float32), light)
