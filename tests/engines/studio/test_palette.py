from __future__ import annotations

import numpy as np
from PIL import Image

from backdrop.engines.studio.palette import (
    apply_modifier,
    color_mentions,
    palette_from_mentions,
    style_from_image,
)
from backdrop.engines.studio.recipe import Light, Palette

BASE = Palette((1, 1, 1), (2, 2, 2), (3, 3, 3))


def test_xkcd_css_and_hex_names() -> None:
    names = [m.name for m in color_mentions("sage green, cornflowerblue and #abc on navy blue")]
    assert names == ["sage green", "cornflowerblue", "#abc", "navy blue"]
    assert color_mentions("#abc")[0].rgb == (170, 187, 204)


def test_modifiers_change_the_colour() -> None:
    (deep,) = color_mentions("deep red")
    (plain,) = color_mentions("red")
    assert sum(deep.rgb) < sum(plain.rgb)
    assert sum(apply_modifier((200, 40, 40), "pastel")) > sum((200, 40, 40)) + 150
    neon = apply_modifier((120, 80, 160), "neon")
    assert max(neon) - min(neon) > 150


def test_scene_words_alone_are_not_colours() -> None:
    assert color_mentions("golden sand beach at sunset") == []
    assert [m.name for m in color_mentions("pastel lavender")] == ["pastel lavender"]


def test_a_noun_gives_the_colour_its_role() -> None:
    mentions = color_mentions("orange sky over turquoise water")
    assert [m.role for m in mentions] == ["primary", "secondary"]
    palette = palette_from_mentions(BASE, color_mentions("purple fog with gold accents"))
    assert palette.accent != BASE.accent and palette.primary != BASE.primary


def test_one_colour_shades_the_whole_palette() -> None:
    palette = palette_from_mentions(BASE, color_mentions("teal"))
    assert palette.primary != palette.secondary and BASE.accent != palette.accent


def test_style_image_gives_palette_and_light() -> None:
    top = np.zeros((60, 60, 3), dtype=np.uint8)
    top[:30] = (200, 60, 40)
    top[30:] = (90, 40, 30)
    style = style_from_image(Image.fromarray(top), Light())
    assert style.palette.primary[0] > 150 and style.palette.secondary[0] < 120
    assert style.light.warmth > 0.5
    dark = style_from_image(Image.new("RGB", (20, 20), (10, 12, 30)), Light())
    assert dark.light.time_of_day == "night"


def test_cream_and_gold_are_what_a_customer_means() -> None:
    cream = color_mentions("sage green and cream colour block")[1].rgb
    red, _, blue = cream
    assert min(cream) > 200 and red - blue < 30  # an off-white, not XKCD's pale lemon
    gold = color_mentions("gold accents")[0].rgb
    assert gold[0] > gold[1] > gold[2]  # warm metallic, not greenish yellow
