"""The light of a scene: its colour, the sky it implies, and the grade applied to the backdrop."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import F, grid, rgb
from backdrop.engines.studio.recipe import Light

# (zenith, horizon) colours of a clear sky at each time of day.
SKY_COLORS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "studio": ((150, 190, 230), (225, 235, 245)),
    "dawn": ((118, 132, 178), (246, 196, 170)),
    "morning": ((110, 165, 222), (220, 234, 246)),
    "noon": ((62, 138, 222), (190, 222, 248)),
    "golden": ((120, 150, 200), (255, 200, 130)),
    "sunset": ((70, 80, 150), (255, 150, 90)),
    "dusk": ((30, 40, 90), (200, 120, 130)),
    "night": ((6, 10, 28), (30, 40, 80)),
}


def key_color(light: Light) -> F:
    """The colour of the key light: neutral white shifted towards amber or blue by warmth."""
    warm = np.asarray([1.0, 0.86, 0.66], dtype=np.float32)
    cool = np.asarray([0.78, 0.88, 1.0], dtype=np.float32)
    white = np.ones(3, dtype=np.float32)
    w = float(np.clip(light.warmth, -1.0, 1.0))
    result: F = white + ((warm if w > 0 else cool) - white) * abs(w)
    return result.astype(np.float32)


def sky_colors(light: Light, primary: F) -> tuple[F, F]:
    """(zenith, horizon) of the sky: the time of day's sky pulled towards the palette's colour."""
    zenith, horizon = (rgb(c) for c in SKY_COLORS.get(light.time_of_day, SKY_COLORS["noon"]))
    zenith = zenith * 0.35 + primary * 0.65
    horizon = horizon * 0.55 + (primary * 0.5 + 0.5) * 0.45
    return zenith.astype(np.float32), horizon.astype(np.float32)


def sun_position(light: Light, horizon: float) -> tuple[float, float]:
    """Where the sun sits (x, y as fractions), from the light's direction and height."""
    x = 0.5 + 0.38 * light.direction
    y = horizon - (horizon - 0.05) * light.elevation - 0.03
    return float(x), float(max(y, 0.04))


def grade(image: F, light: Light, *, vignette: float = 0.18) -> F:
    """The backdrop lit by the key light: a gentle side-to-side falloff, its tint, a vignette."""
    height, width = image.shape[:2]
    x, y = grid(width, height)
    # The side the light comes from is brighter; harder light falls off faster.
    side = 1.0 + (0.06 + 0.08 * light.hardness) * light.direction * (x * 2 - 1)
    r2 = (x * 2 - 1) ** 2 + (y * 2 - 1) ** 2
    shade = (side * (1.0 - vignette * 0.5 * r2)).astype(np.float32)
    tint = 1.0 + (key_color(light) - 1.0) * 0.25
    result: F = np.clip(image * shade[..., None] * tint, 0.0, 1.0).astype(np.float32)
    return result
