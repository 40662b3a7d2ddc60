from __future__ import annotations

from dataclasses import replace

from backdrop.engines.studio.presets import PRESETS
from backdrop.engines.studio.recipe import Palette
from backdrop.engines.studio.variation import vary

BASE = next(p.recipe for p in PRESETS if p.recipe.name == "living room")


def test_the_same_seed_gives_the_same_take_and_seeds_differ() -> None:
    assert vary(BASE, 5) == vary(BASE, 5)
    takes = {(vary(BASE, s).light.direction, vary(BASE, s).palette) for s in range(20)}
    assert len(takes) > 4


def test_what_the_prompt_named_is_not_varied() -> None:
    named = replace(BASE, direction_named=True, colors_named=True)
    for seed in range(10):
        varied = vary(named, seed)
        assert varied.light.direction == BASE.light.direction
        assert varied.palette == BASE.palette


def test_a_white_backdrop_stays_white() -> None:
    white = replace(BASE, palette=Palette((250, 250, 250), (244, 244, 244), (200, 200, 200)))
    for seed in range(10):
        assert vary(white, seed).palette.primary == (250, 250, 250)
