"""Table tops: the subject on a surface at the front, a room out of focus behind it."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import blend, grid, radial, rgb
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.interior import room_lights, room_wall
from backdrop.engines.studio.scenes.parts import floor_depth, material_color, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    image = room_wall(recipe, stage, textures)
    if recipe.scene is SceneKind.CAFE:
        _, y = grid(stage.width, stage.height)
        image = (image * (0.55 + 0.3 * y)[..., None]).astype(np.float32)
    color = material_color(recipe, rgb(recipe.palette.secondary))
    top, mask = surface(stage, recipe, color, textures)
    # The table's front edge catches the light; the far edge is a thin darker line.
    _, y = grid(stage.width, stage.height)
    edge = np.exp(-(((y - stage.horizon) * stage.height) ** 2) / 4.0).astype(np.float32)
    top = blend(top, top * 0.7, np.broadcast_to(edge, mask.shape).astype(np.float32))
    if recipe.light.hardness > 0.5 or Feature.SPOTLIGHT in recipe.features:
        sheen = radial(
            stage.width,
            stage.height,
            stage.center - recipe.light.direction * 0.2,
            stage.horizon + 0.05,
            0.5,
        )
        top = np.clip(top + sheen[..., None] * 0.12, 0, 1).astype(np.float32)
    image = blend(image, top, mask)
    image = room_lights(recipe, stage, image)
    depth = np.maximum(floor_depth(stage) * mask, (1.0 - mask))
    return Scene(image, depth.astype(np.float32))
