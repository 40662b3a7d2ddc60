"""Scene families: one module per setting, each painting a `Scene` for a recipe and a stage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Recipe
from backdrop.engines.studio.scenes import (
    abstract,
    city,
    interior,
    landscape,
    nature,
    studio,
    tabletop,
    water,
)
from backdrop.engines.studio.scenes.base import Scene, Stage

RENDERERS: dict[str, Callable[[Recipe, Stage, Textures], Scene]] = {
    "studio": studio.render,
    "tabletop": tabletop.render,
    "interior": interior.render,
    "landscape": landscape.render,
    "water": water.render,
    "city": city.render,
    "nature": nature.render,
    "abstract": abstract.render,
}


def render_scene(recipe: Recipe, stage: Stage) -> Scene:
    """The backdrop the recipe describes, at the stage's working size."""
    textures = Textures(stage.rng("textures"))
    scene = RENDERERS[recipe.setting](recipe, stage, textures)
    np.clip(scene.image, 0.0, 1.0, out=scene.image)
    return scene


__all__ = ["RENDERERS", "Scene", "Stage", "render_scene"]
