"""Abstract sets: bold geometric shapes, or a glowing neon gradient."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from backdrop.engines.studio.layers import (
    F,
    blend,
    blur,
    grid,
    radial,
    rgb,
    screen,
    smoothstep,
    vertical_gradient,
)
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import floor_depth, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    if recipe.scene is SceneKind.GLOW:
        return _glow(recipe, stage)
    background = rgb(recipe.palette.accent)
    image = np.broadcast_to(background, (stage.height, stage.width, 3)).astype(np.float32).copy()
    image = _shapes(recipe, stage, image)
    floor, mask = surface(
        stage, recipe, rgb(recipe.palette.secondary) * 0.9 + background * 0.1, textures
    )
    image = blend(image, floor, mask)
    depth = np.maximum(floor_depth(stage) * mask * 0.5, (1.0 - mask) * 0.25)
    return Scene(image, depth.astype(np.float32))


def _shapes(recipe: Recipe, stage: Stage, image: F) -> F:
    """A big arch, circles and a half disc in the palette's colours, with soft drop shadows."""
    rng = stage.rng("shapes")
    colors = [
        rgb(recipe.palette.primary),
        rgb(recipe.palette.secondary),
        np.clip(rgb(recipe.palette.primary) * 0.6 + 0.4, 0, 1),
    ]
    fill = Image.new("RGB", (stage.width, stage.height))
    cover = Image.new("L", (stage.width, stage.height))
    paint, ink = ImageDraw.Draw(fill), ImageDraw.Draw(cover)
    w, h = stage.width, stage.height
    arch_x = stage.center + rng.uniform(-0.1, 0.1)
    aw = max(stage.right - stage.left, 0.2) * 1.3
    boxes = [
        ("arch", (arch_x - aw / 2, stage.top - 0.12, arch_x + aw / 2, stage.horizon), colors[0]),
        ("ellipse", (0.04, 0.08, 0.3, 0.08 + 0.26 * stage.aspect), colors[1]),
        (
            "ellipse",
            (0.72, stage.horizon - 0.34, 0.98, stage.horizon - 0.34 + 0.26 * stage.aspect),
            colors[2],
        ),
    ]
    for kind, (x0, y0, x1, y1), color in boxes:
        rgb8 = tuple(int(c * 255) for c in color)
        if kind == "arch":
            radius = (x1 - x0) / 2 * w
            paint.rectangle((x0 * w, y0 * h + radius, x1 * w, y1 * h), fill=rgb8)
            ink.rectangle((x0 * w, y0 * h + radius, x1 * w, y1 * h), fill=255)
            paint.ellipse((x0 * w, y0 * h, x1 * w, y0 * h + 2 * radius), fill=rgb8)
            ink.ellipse((x0 * w, y0 * h, x1 * w, y0 * h + 2 * radius), fill=255)
        else:
            paint.ellipse((x0 * w, y0 * h, x1 * w, y1 * h), fill=rgb8)
            ink.ellipse((x0 * w, y0 * h, x1 * w, y1 * h), fill=255)
    mask = np.asarray(cover, dtype=np.float32) / 255.0
    shadow = blur(
        np.roll(
            mask,
            (int(0.015 * h), int(-0.015 * w * np.sign(recipe.light.direction or 1))),
            axis=(0, 1),
        ),
        0.01 * w,
    )
    image = (image * (1 - 0.25 * shadow[..., None])).astype(np.float32)
    return blend(image, np.asarray(fill, dtype=np.float32) / 255.0, mask)


def _glow(recipe: Recipe, stage: Stage) -> Scene:
    """A dark-to-colour gradient with a bright halo behind the subject and its reflection below."""
    first, second = rgb(recipe.palette.primary), rgb(recipe.palette.secondary)
    image = vertical_gradient(
        stage.height,
        stage.width,
        [(0.0, first * 0.55), (stage.horizon, (first + second) * 0.5), (1.0, second * 0.35)],
    )
    x, y = grid(stage.width, stage.height)
    image = blend(image, second * 0.9, np.broadcast_to(x, image.shape[:2]).astype(np.float32) * 0.5)
    cy = (stage.top + stage.base) / 2
    halo = radial(stage.width, stage.height, stage.center, cy, 0.55)
    ring_r = max(stage.right - stage.left, stage.base - stage.top) * 0.6
    aspect = stage.height / max(stage.width, 1)
    dist = np.sqrt((x - stage.center) ** 2 + ((y - cy) * aspect) ** 2)
    ring = np.exp(-(((dist - ring_r) / 0.012) ** 2)).astype(np.float32)
    glow_color = np.clip(rgb(recipe.palette.accent) * 0.7 + 0.3, 0, 1).astype(np.float32)
    image = screen(
        image,
        glow_color,
        np.clip(halo * 0.6 + ring * 0.9 + blur(ring, stage.width * 0.02) * 0.8, 0, 1),
    )
    floor = smoothstep(
        stage.horizon - 0.005,
        stage.horizon + 0.005,
        np.broadcast_to(y, image.shape[:2]).astype(np.float32),
    )
    image = (image * (1 - 0.35 * floor[..., None])).astype(np.float32)
    depth = np.full(image.shape[:2], 0.2, dtype=np.float32)
    return Scene(image, depth)
