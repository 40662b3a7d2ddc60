"""Cities: a skyline with lit windows, or a wet neon street at night."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from backdrop.engines.studio.layers import F, blend, blur, bokeh, grid, rgb, screen, smoothstep
from backdrop.engines.studio.lighting import sky_colors
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import deck, floor_depth, sky, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    night = recipe.light.time_of_day in ("night", "dusk")
    image = sky(stage, recipe)
    _, haze = sky_colors(recipe.light, rgb(recipe.palette.primary))
    if recipe.scene is SceneKind.STREET:
        image = _street_backdrop(recipe, stage, image)
    else:
        for layer, (height, distance) in enumerate([(0.42, 0.55), (0.3, 0.2)]):
            image = _buildings(recipe, stage, image, haze, layer, height, distance, night)
    floor, mask = surface(
        stage, recipe, rgb(recipe.palette.primary) * 0.6 + 0.12, textures, haze=haze
    )
    if recipe.scene is SceneKind.STREET or Feature.RAIN in recipe.features:
        floor = _wet_reflection(stage, image, floor)
    image = blend(image, floor, mask)
    if Feature.DECK in recipe.features:
        image, _ = deck(recipe, stage, image, textures)
    if Feature.BOKEH in recipe.features:
        colors = [rgb(recipe.palette.accent), rgb(recipe.palette.secondary)]
        glow = bokeh(
            stage.width,
            stage.height,
            stage.rng("city-bokeh"),
            colors,
            count=30,
            region=(0.1, stage.horizon + 0.05),
            size=0.03,
        )
        image = np.clip(image + glow * (0.8 if night else 0.3), 0, 1).astype(np.float32)
    if Feature.RAIN in recipe.features:
        image = _rain(stage, image)
    depth = np.maximum(floor_depth(stage) * mask, 1.0 - mask)
    return Scene(image, depth.astype(np.float32))


def _buildings(
    recipe: Recipe,
    stage: Stage,
    image: F,
    haze: F,
    layer: int,
    height: float,
    distance: float,
    night: bool,
) -> F:
    """One row of towers with a grid of windows, lit at random after dark."""
    rng = stage.rng(f"towers{layer}")
    body = Image.new("L", (stage.width, stage.height), 0)
    lights = Image.new("L", (stage.width, stage.height), 0)
    draw, lit = ImageDraw.Draw(body), ImageDraw.Draw(lights)
    x = -rng.uniform(0, 0.05)
    h = stage.horizon
    while x < 1.0:
        w = rng.uniform(0.05, 0.12)
        top = h - height * rng.uniform(0.35, 1.0)
        draw.rectangle(
            (x * stage.width, top * stage.height, (x + w) * stage.width, h * stage.height + 2),
            fill=255,
        )
        step_x, step_y = 0.014, 0.02
        for wy in np.arange(top + 0.015, h - 0.01, step_y):
            for wx in np.arange(x + 0.008, x + w - 0.008, step_x):
                if rng.random() < (0.45 if night else 0.15):
                    lit.rectangle(
                        (
                            wx * stage.width,
                            wy * stage.height,
                            (wx + 0.006) * stage.width,
                            (wy + 0.008) * stage.height,
                        ),
                        fill=255,
                    )
        x += w + rng.uniform(0.0, 0.02)
    mask = np.asarray(body, dtype=np.float32) / 255.0
    windows = np.asarray(lights, dtype=np.float32) / 255.0 * mask
    tone = (
        rgb(recipe.palette.primary) * (0.5 if night else 0.75) + (0.02 if night else 0.15)
    ).astype(np.float32)
    tone = blend(
        tone[None, None, :] * np.ones_like(image), haze, distance * (0.6 if night else 1.0)
    )
    image = blend(image, tone, mask)
    glow = rgb(recipe.palette.accent) if night else np.asarray([0.75, 0.82, 0.9], dtype=np.float32)
    return blend(image, glow, (windows * (0.95 if night else 0.3)).astype(np.float32))


def _street_backdrop(recipe: Recipe, stage: Stage, image: F) -> F:
    """Dark façades either side, neon signs in the palette's colours glowing in the haze."""
    rng = stage.rng("neon")
    dark = (rgb(recipe.palette.primary) * 0.8).astype(np.float32)
    image = blend(image, dark, 0.7)
    colors = [rgb(recipe.palette.secondary), rgb(recipe.palette.accent)]
    canvas = np.zeros_like(image)
    signs = Image.new("RGB", (stage.width, stage.height))
    draw = ImageDraw.Draw(signs)
    for _ in range(14):
        color = colors[int(rng.integers(2))]
        x0, y0 = rng.uniform(0, 1), rng.uniform(0.05, stage.horizon - 0.05)
        w, h = rng.uniform(0.02, 0.12), rng.uniform(0.015, 0.05)
        if rng.random() < 0.5:
            w, h = h, w * 1.6
        fill = tuple(int(c * 255) for c in color)
        draw.rectangle(
            (x0 * stage.width, y0 * stage.height, (x0 + w) * stage.width, (y0 + h) * stage.height),
            fill=fill,
        )
    canvas = np.asarray(signs, dtype=np.float32) / 255.0
    glow = blur(canvas, stage.width * 0.03)
    image = np.clip(image + canvas * 0.9 + glow * 1.2, 0, 1).astype(np.float32)
    return image


def _wet_reflection(stage: Stage, image: F, floor: F) -> F:
    """A wet floor: what is above the horizon, mirrored and smeared vertically, over the floor."""
    h_px = int(stage.horizon * stage.height)
    above = image[:h_px][::-1]
    mirrored = np.zeros_like(image)
    rows = min(above.shape[0], stage.height - h_px)
    mirrored[h_px : h_px + rows] = above[:rows]
    smeared = blur(mirrored, stage.width * 0.01)
    _, y = grid(stage.width, stage.height)
    fade = np.clip(1.0 - (y - stage.horizon) * 1.5, 0.2, 1)
    return screen(
        floor * 0.7, smeared, np.broadcast_to(fade * 0.85, floor.shape[:2]).astype(np.float32)
    )


def _rain(stage: Stage, image: F) -> F:
    """Falling rain: short bright slanted streaks."""
    rng = stage.rng("rain")
    canvas = Image.new("L", (stage.width, stage.height), 0)
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(stage.width * 0.6)):
        x, y = rng.uniform(0, stage.width), rng.uniform(0, stage.height)
        length = rng.uniform(0.02, 0.05) * stage.height
        draw.line((x, y, x - length * 0.15, y + length), fill=int(rng.uniform(40, 110)), width=1)
    streaks = np.asarray(canvas, dtype=np.float32) / 255.0
    _, yy = grid(stage.width, stage.height)
    streaks *= smoothstep(0.0, 0.2, np.broadcast_to(yy, streaks.shape).astype(np.float32))
    return np.clip(image + streaks[..., None] * 0.6, 0, 1).astype(np.float32)
