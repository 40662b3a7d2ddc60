"""Scene families: one module per setting, each painting a `Scene` for a recipe and a stage."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from backdrop.engines.studio.elements.arrangement import compose
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Recipe, Setting
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
from backdrop.engines.studio.stage import Scene, Stage

RENDERERS: dict[Setting, Callable[[Recipe, Stage, Textures], Scene]] = {
    Setting.STUDIO: studio.render,
    Setting.TABLETOP: tabletop.render,
    Setting.INTERIOR: interior.render,
    Setting.LANDSCAPE: landscape.render,
    Setting.WATER: water.render,
    Setting.CITY: city.render,
    Setting.NATURE: nature.render,
    Setting.ABSTRACT: abstract.render,
}


def render_scene(recipe: Recipe, stage: Stage) -> Scene:
    """The backdrop the recipe describes, at the stage's working size."""
    textures = Textures(stage.rng("textures"))
    scene = RENDERERS[recipe.setting](recipe, stage, textures)
    scene.image, cover = compose(recipe, stage, scene.image)
    # Named things stand in the middle distance: sharper than the far wall or sky behind.
    scene.depth = (scene.depth * (1.0 - 0.5 * cover)).astype(np.float32)
    np.clip(scene.image, 0.0, 1.0, out=scene.image)
    return scene


__all__ = ["RENDERERS", "Scene", "Stage", "render_scene"]
