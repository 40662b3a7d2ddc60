"""Open land under a sky: mountain ranges, dunes, fields; far layers fade into the haze."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import F, blend, fbm, grid, profile, rgb, silhouette, smoothstep
from backdrop.engines.studio.lighting import sky_colors
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import deck, floor_depth, fog, ridge, sky, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    image = sky(stage, recipe)
    _, haze = sky_colors(recipe.light, rgb(recipe.palette.primary))
    h = stage.horizon
    light = recipe.light
    ground = rgb(recipe.palette.secondary)
    if recipe.scene is SceneKind.MOUNTAINS:
        image = _mountains(recipe, stage, image, haze)
    elif recipe.scene is SceneKind.DUNES:
        sand = rgb(recipe.palette.secondary)
        for k, (top, amp, dist) in enumerate(
            [(h - 0.06, 0.06, 0.45), (h - 0.02, 0.05, 0.25), (h + 0.01, 0.04, 0.08)]
        ):
            image, _ = ridge(
                stage,
                image,
                sand * (0.95 + 0.05 * k),
                haze,
                top=top,
                amplitude=amp,
                features=1.6 + k,
                distance=dist,
                salt=f"d{k}",
                lit=0.45,
                light_dir=light.direction,
            )
    elif recipe.scene is SceneKind.FIELD:
        hills = ground * 0.6 + np.asarray([0.15, 0.2, 0.1], dtype=np.float32)
        image, _ = ridge(
            stage,
            image,
            hills,
            haze,
            top=h - 0.03,
            amplitude=0.035,
            features=2,
            distance=0.5,
            salt="f1",
        )
        image, _ = ridge(
            stage,
            image,
            np.asarray([0.22, 0.3, 0.16], dtype=np.float32),
            haze,
            top=h - 0.005,
            amplitude=0.015,
            features=6,
            distance=0.3,
            salt="f2",
        )
    else:
        image, _ = ridge(
            stage,
            image,
            ground * 0.8,
            haze,
            top=h,
            amplitude=0.02,
            features=2,
            distance=0.4,
            salt="s1",
        )
    floor, mask = surface(stage, recipe, ground, textures, haze=haze)
    if recipe.scene is SceneKind.FIELD:
        floor = _flower_rows(stage, floor, ground, rgb(recipe.palette.accent))
    image = blend(image, floor, mask)
    if Feature.DECK in recipe.features:
        image, _ = deck(recipe, stage, image, textures)
    if Feature.FOG in recipe.features or Feature.HAZE in recipe.features:
        image = fog(stage, image, haze, 0.25 if Feature.FOG in recipe.features else 0.12)
    depth = np.maximum(floor_depth(stage) * mask, 1.0 - mask)
    return Scene(image, depth.astype(np.float32))


def _flower_rows(stage: Stage, floor: F, color: F, accent: F) -> F:
    """Rows of flowers converging to the horizon (lavender, tulips): stripes in perspective."""
    x, y = grid(stage.width, stage.height)
    below = np.maximum(y - stage.horizon, 1e-3)
    u = (x - 0.5) * stage.aspect / below
    rows = (np.sin(u * 9.0) * 0.5 + 0.5) ** 2
    speckle = fbm(stage.width, stage.height, 60, stage.rng("flowers"), octaves=2)
    flowers = np.clip(rows * 0.8 + speckle * 0.5 - 0.15, 0, 1)
    foliage = np.asarray([0.25, 0.33, 0.2], dtype=np.float32)
    mixed = blend(
        np.broadcast_to(foliage, floor.shape).astype(np.float32),
        color * (0.8 + 0.4 * speckle[..., None]),
        flowers.astype(np.float32),
    )
    return blend(
        floor, mixed.astype(np.float32), np.clip(below * 8, 0, 1).astype(np.float32) * 0.9 + 0.1
    )


# Far to near: (ridge line, height of the peaks, peaks across the frame, haze, snow line as a
# fraction of the peaks' height below the ridge line).
_RANGES: tuple[tuple[float, float, float, float, float], ...] = (
    (-0.24, 0.26, 2.4, 0.55, 1.0),
    (-0.1, 0.2, 1.8, 0.3, 0.78),
    (-0.015, 0.05, 3.0, 0.1, 2.5),
)


def _mountains(recipe: Recipe, stage: Stage, image: F, haze: F) -> F:
    """Snowy ranges, far to near: fractal ridge lines, sunlit and shaded faces split below each
    peak, snow caps broken by rocky gullies, and bluer, paler ranges further away."""
    light = recipe.light
    toward = 1.0 if light.direction >= 0 else -1.0  # the side the sun is on
    sun = np.clip(
        np.asarray([1.0, 0.98, 0.95], dtype=np.float32) * (0.9 + 0.1 * light.brightness), 0, 1
    )
    snow_shade = np.clip(haze * 0.3 + np.asarray([0.4, 0.47, 0.62], dtype=np.float32), 0, 1)
    rock_lit = np.asarray([0.5, 0.47, 0.45], dtype=np.float32)
    rock_shade = np.asarray([0.26, 0.28, 0.35], dtype=np.float32)
    _, y = grid(stage.width, stage.height)
    for index, (offset, amplitude, peaks, distance, snow_line) in enumerate(_RANGES):
        rng = stage.rng(f"range{index}")
        heights = profile(stage.width, rng, features=peaks, octaves=6, ridged=index < 2)
        tops = (stage.horizon + offset - amplitude * heights).astype(np.float32)
        mask = silhouette(stage.height, tops)
        below = np.clip((y - tops[None, :]) / amplitude, 0.0, 2.0)
        # Rocky ribs running down the slopes: ridged noise, tall and narrow.
        ribs = fbm(stage.width, stage.height, 9 + 4 * index, rng, octaves=4, stretch=0.8)
        ribs = 1.0 - np.abs(ribs * 2.0 - 1.0)
        # Faces split below each peak: the slope of the ridge line, smoothed more the lower
        # the point (a face widens downwards), nudged sideways by the ribs.
        facing = _facing(tops, stage.width, below, ribs, toward)
        rib_light = np.gradient(ribs, axis=1) * stage.width * 0.03 * toward
        lightness = np.clip(0.45 + 0.7 * facing + 0.35 * rib_light, 0.0, 1.0)
        # Snow lies high and on gentle faces; rock shows lower, on the ribs and in the steep.
        cover = below + 0.9 * (0.55 - ribs) + 0.3 * np.abs(facing)
        snow = 1.0 - smoothstep(snow_line - 0.08, snow_line + 0.08, cover)
        snow_color = blend(
            np.broadcast_to(snow_shade, image.shape).astype(np.float32), sun, lightness
        )
        rock_color = blend(
            np.broadcast_to(rock_shade, image.shape).astype(np.float32), rock_lit, lightness
        )
        body = blend(rock_color, snow_color, snow.astype(np.float32))
        # Air between us and the range: far ones fade into the sky, valleys fill with haze.
        mist = distance + (1.0 - distance) * 0.45 * smoothstep(0.5, 1.6, below)
        body = blend(body, haze, mist.astype(np.float32))
        image = blend(image, body, mask)
    return image


def _facing(tops: F, width: int, below: F, ribs: F, toward: float) -> F:
    """-1 (turned from the sun) .. 1 (facing it) for every pixel of a range."""
    scales = (0.025, 0.05, 0.09, 0.15)
    slopes = []
    for scale in scales:
        size = max(1, round(scale * width)) | 1
        padded = np.pad(tops, size, mode="edge")
        smooth = np.convolve(padded, np.ones(size, dtype=np.float32) / size, mode="same")
        slopes.append(np.gradient(smooth[size:-size]) * width)
    stack = np.stack(slopes).astype(np.float32)
    level = np.clip(below * (len(scales) - 1), 0, len(scales) - 1.001)
    low = level.astype(np.int64)
    frac = level - low
    shift = ((ribs - 0.5) * 0.04 * width * below).astype(np.int64)
    cols = np.clip(np.arange(width)[None, :] + shift, 0, width - 1)
    slope = stack[low, cols] * (1 - frac) + stack[low + 1, cols] * frac
    # The ridge line rises (negative slope in image rows) towards a peak: on the sun's side of
    # a peak the ground falls away towards the sun, so it faces it.
    result: F = np.clip(slope * toward * 2.5, -1.0, 1.0).astype(np.float32)
    return result
