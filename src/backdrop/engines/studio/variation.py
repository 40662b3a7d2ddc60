"""What the seed changes in a recipe: the side the key light comes from, the wall's tone and
the light's warmth, within what the prompt left open.

Without a seed the prompt is the seed, so two prompts that read almost alike still get their
own take on the scene, and one prompt with new seeds gives new takes. What the prompt names
(a light direction, colours) is never varied.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from backdrop.engines.studio.palette import shade
from backdrop.engines.studio.recipe import Recipe

# Tones a wall may take (a factor on its colour), and warmth shifts of the key light.
TONES = (0.84, 1.0, 1.12)
WARMTHS = (-0.25, 0.0, 0.25)


def vary(recipe: Recipe, seed: int) -> Recipe:
    """The recipe as this seed paints it."""
    rng = np.random.default_rng([seed % 2**32, seed // 2**32 % 2**32, 0x5EED])
    flip, tone, warmth = (int(rng.integers(n)) for n in (2, len(TONES), len(WARMTHS)))
    light = recipe.light
    if not recipe.direction_named and flip:
        light = replace(light, direction=-light.direction)
    light = replace(light, warmth=float(np.clip(light.warmth + WARMTHS[warmth], -1.0, 1.0)))
    palette = recipe.palette
    if not recipe.colors_named:
        palette = replace(
            palette,
            primary=_toned(palette.primary, TONES[tone]),
            secondary=_toned(palette.secondary, TONES[(tone + 1) % len(TONES)]),
        )
    return replace(recipe, light=light, palette=palette)


def _toned(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    """`color` lighter or darker; a near-white stays white (a white backdrop is a promise)."""
    if min(color) > 235:
        return color
    return shade(color, factor)
