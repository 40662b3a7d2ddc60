"""Style words ("vintage", "minimalist", "luxury"...): how each shifts the palette and light.

A style names no colour and no thing, yet a customer who writes "a vintage workspace" expects
it to look different from "a minimalist workspace". Named colours win over styles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from backdrop.engines.studio.palette import mix
from backdrop.engines.studio.recipe import Recipe, Setting
from backdrop.imaging.colors import RGB


@dataclass(frozen=True)
class Style:
    tint: RGB  # the wall and floor are pulled towards this colour
    amount: float  # by this much, 0..1
    warmth: float = 0.0  # added to the light's warmth
    accent: RGB | None = None  # replaces the accent (details, metal)


_VINTAGE = Style((190, 158, 118), 0.35, 0.35, (150, 95, 55))
_MINIMAL = Style((246, 245, 242), 0.5, -0.05)
_MODERN = Style((196, 202, 208), 0.25, -0.15, (40, 44, 52))
_LUXURY = Style((70, 52, 40), 0.3, 0.25, (212, 175, 55))
_RUSTIC = Style((165, 122, 84), 0.3, 0.3, (110, 70, 40))
_INDUSTRIAL = Style((118, 118, 122), 0.35, -0.1, (60, 60, 64))

_ROOMS = frozenset({Setting.STUDIO, Setting.TABLETOP, Setting.INTERIOR})

STYLE_WORDS: dict[str, Style] = {
    "vintage": _VINTAGE,
    "retro": _VINTAGE,
    "antique": _VINTAGE,
    "minimalist": _MINIMAL,
    "minimal": _MINIMAL,
    "clean": _MINIMAL,
    "modern": _MODERN,
    "contemporary": _MODERN,
    "sleek": _MODERN,
    "luxury": _LUXURY,
    "luxurious": _LUXURY,
    "elegant": _LUXURY,
    "opulent": _LUXURY,
    "rustic": _RUSTIC,
    "country": _RUSTIC,
    "industrial": _INDUSTRIAL,
}


def apply_style(recipe: Recipe, words: list[str]) -> Recipe:
    """The recipe in the first style the prompt names (unless it names colours)."""
    word = next((w for w in words if w in STYLE_WORDS), None)
    if word is None or recipe.colors_named:
        return recipe
    style = STYLE_WORDS[word]
    # Outdoors the palette's primary is the sky, and abstract sets paint with the accent: a
    # style tints rooms, not the weather or an abstract composition; elsewhere only the light.
    palette = recipe.palette
    if recipe.setting in _ROOMS:
        palette = replace(
            palette,
            primary=mix(palette.primary, style.tint, style.amount),
            secondary=mix(palette.secondary, style.tint, style.amount * 0.7),
            accent=style.accent or palette.accent,
        )
    warmth = float(np.clip(recipe.light.warmth + style.warmth, -1.0, 1.0))
    light = replace(recipe.light, warmth=warmth)
    return replace(recipe, palette=palette, light=light).explained(f"style {word!r}")
