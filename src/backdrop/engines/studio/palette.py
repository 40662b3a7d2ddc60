"""Colours from words and from reference photos: CSS and XKCD names, modifiers, hex codes.

A colour named right before a noun takes that noun's role ("turquoise water" colours the
water, "orange sky" the sky); other colours fill the roles in order: primary (sky, wall,
backdrop), secondary (floor, ground, water, table), accent (lights, details).
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.engines.studio.recipe import Light, Palette
from backdrop.engines.studio.xkcd_colors import XKCD_COLORS
from backdrop.imaging.colors import CSS_COLORS, RGB

_TOKEN = re.compile(r"#[0-9a-fA-F]{3,8}\b|[a-zA-Z']+")
_MAX_WORDS = 4

# Words that are colour names but, alone, name what is in the scene ("sand beach", "pine
# forest"): the preset already paints those, so they do not recolour it.
SCENE_WORDS = frozenset(
    [
        "sand",
        "snow",
        "moss",
        "lavender",
        "forest",
        "sky",
        "ocean",
        "sea",
        "grass",
        "stone",
        "leaf",
        "wood",
        "concrete",
        "cement",
        "water",
        "night",
        "sunset",
        "sun",
        "desert",
        "ice",
        "gold",
        "golden",
        "pine",
        "wine",
        "ocean",
        "earth",
        "mud",
        "brick",
        "cloud",
        "clouds",
        "terracotta",
        "marble",
        "leather",
        "light",
        "dust",
        "straw",
        "sandstone",
        "bark",
        "spruce",
        "fern",
        "seafoam",
        "tree",
    ]
)

# Modifiers change the colour that follows them; scale factors are in HSV.
MODIFIERS: dict[str, tuple[float, float, float]] = {
    # word: (saturation factor, value factor, mix with white)
    "pastel": (0.45, 1.0, 0.45),
    "pale": (0.5, 1.0, 0.45),
    "light": (0.75, 1.0, 0.35),
    "soft": (0.75, 1.0, 0.2),
    "muted": (0.5, 0.9, 0.05),
    "dusty": (0.5, 0.9, 0.1),
    "deep": (1.1, 0.6, 0.0),
    "dark": (1.0, 0.5, 0.0),
    "rich": (1.15, 0.8, 0.0),
    "neon": (1.6, 1.35, 0.0),
    "vivid": (1.4, 1.2, 0.0),
    "bright": (1.3, 1.2, 0.0),
    "electric": (1.6, 1.35, 0.0),
}

PRIMARY, SECONDARY, ACCENT = "primary", "secondary", "accent"
NATURAL_NOUNS = frozenset(
    [
        "water",
        "sea",
        "ocean",
        "sky",
        "leaves",
        "foliage",
        "sand",
        "moss",
        "grass",
        "stones",
        "fog",
        "mist",
    ]
)
ROLE_NOUNS: dict[str, str] = {
    **dict.fromkeys(
        [
            "sky",
            "wall",
            "walls",
            "background",
            "backdrop",
            "fog",
            "mist",
            "haze",
            "paper",
            "room",
            "backgrounds",
        ],
        PRIMARY,
    ),
    **dict.fromkeys(
        [
            "water",
            "sea",
            "ocean",
            "floor",
            "ground",
            "table",
            "surface",
            "countertop",
            "marble",
            "granite",
            "wood",
            "tiles",
            "tile",
            "leaves",
            "foliage",
            "sand",
            "moss",
            "grass",
            "shapes",
            "stones",
            "field",
            "podium",
        ],
        SECONDARY,
    ),
    **dict.fromkeys(
        ["accents", "accent", "lights", "light", "details", "glow", "sun", "lamps"], ACCENT
    ),
}
_ROLES = (PRIMARY, SECONDARY, ACCENT)


def _hex_rgb(code: str) -> RGB:
    value = int(code.lstrip("#"), 16)
    return (value >> 16 & 255, value >> 8 & 255, value & 255)


# XKCD names are keyed with single spaces ("navy blue"), CSS names without ("navyblue").
_XKCD: dict[str, RGB] = {
    name.replace("'", ""): _hex_rgb(code) for name, code in XKCD_COLORS.items()
}
_CSS: dict[str, RGB] = {name: _hex_rgb(code) for name, code in CSS_COLORS.items()}
# Names whose XKCD swatch is not what a customer means for a backdrop: XKCD's "cream" is a
# pale lemon (#ffffc2); a cream backdrop is an off-white with a little warmth.
_CURATED: dict[str, RGB] = {
    "cream": (241, 234, 218),
    "off white": (240, 238, 232),
    "ivory": (242, 238, 226),
    "eggshell": (240, 234, 216),
    "beige": (224, 210, 186),
    "gold": (212, 175, 55),  # metallic gold, not XKCD's greenish yellow
}


@dataclass(frozen=True)
class ColorMention:
    """One colour named in a prompt, with its final RGB and the role a following noun gave it."""

    name: str
    rgb: RGB
    role: str | None
    natural: bool = False  # the colour of something natural ("green moss", "turquoise water")


def color_mentions(prompt: str) -> list[ColorMention]:
    """The colours a prompt names, in order: XKCD names first, then CSS names, then hex codes."""
    tokens = [token.replace("'", "") for token in _TOKEN.findall(prompt)]
    lower = [token.lower() for token in tokens]
    found: list[ColorMention] = []
    pending: list[str] = []
    index = 0
    while index < len(tokens):
        match = _match_at(tokens, lower, index)
        if match is None:
            word = lower[index]
            if word in MODIFIERS:
                pending.append(word)
            elif word not in ("and", "to", "with", "of", "a", "an", "-"):
                pending = []
            index += 1
            continue
        name, rgb, length = match
        index += length
        role = _role_after(lower, index)
        # "gold accents" is a colour; "golden sand", "pine forest" are what the scene shows.
        standalone_scene_word = length == 1 and name in SCENE_WORDS and not pending
        if standalone_scene_word and role not in (PRIMARY, ACCENT):
            continue
        for modifier in pending:
            rgb = apply_modifier(rgb, modifier)
        label = " ".join([*pending, name])
        pending = []
        natural = any(word in NATURAL_NOUNS for word in lower[index : index + 2])
        found.append(ColorMention(label, rgb, role, natural))
    return found


def _match_at(tokens: list[str], lower: list[str], index: int) -> tuple[str, RGB, int] | None:
    token = tokens[index]
    if token.startswith("#"):
        digits = token[1:]
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        if len(digits) in (6, 8):
            return token.lower(), _hex_rgb(digits[:6]), 1
        return None
    for length in range(min(_MAX_WORDS, len(tokens) - index), 0, -1):
        words = lower[index : index + length]
        if any(word.startswith("#") for word in words):
            continue
        spaced = " ".join(words)
        if spaced in _CURATED:
            return spaced, _CURATED[spaced], length
        if spaced in _XKCD:
            return spaced, _XKCD[spaced], length
        joined = "".join(words)
        if joined in _CSS:
            return spaced, _CSS[joined], length
        if length == 1 and words[0] == "grey" and "gray" in _XKCD:
            return "grey", _XKCD["grey"], 1
    return None


def _role_after(lower: list[str], index: int) -> str | None:
    """The role of the noun right after a colour ("orange sky" → primary), if any."""
    for word in lower[index : index + 2]:
        role = ROLE_NOUNS.get(word)
        if role is not None:
            return role
        if word in ("and", "to", "with", "in", "on", "under"):
            return None
    return None


def apply_modifier(rgb: RGB, modifier: str) -> RGB:
    """`rgb` made pastel, deep, neon... as the modifier word says."""
    saturation_factor, value_factor, white = MODIFIERS[modifier]
    hue, saturation, value = colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))
    saturation = min(1.0, saturation * saturation_factor)
    if modifier in ("neon", "electric", "vivid") and saturation > 0.2:
        saturation = max(saturation, 0.85)
    value = min(1.0, value * value_factor)
    red, green, blue = colorsys.hsv_to_rgb(hue, saturation, value)
    mixed = [c + (1.0 - c) * white for c in (red, green, blue)]
    return (round(mixed[0] * 255), round(mixed[1] * 255), round(mixed[2] * 255))


def palette_from_mentions(base: Palette, mentions: list[ColorMention]) -> Palette:
    """`base` recoloured by what the prompt names; one colour also shades the other roles."""
    if not mentions:
        return base
    roles: dict[str, RGB] = {}
    for mention in mentions:
        if mention.role is not None and mention.role not in roles:
            color = mention.rgb
            if mention.natural:
                # "green moss", "orange leaves": nature's version of the colour, not the swatch.
                color = mix(color, getattr(base, mention.role), 0.5)
            roles[mention.role] = color
    free = [m.rgb for m in mentions if m.role is None]
    for role in _ROLES:
        if role not in roles and free:
            roles[role] = free.pop(0)
    if len(mentions) == 1 and mentions[0].role is None:
        # One colour for the whole scene: a lit and a shaded version of it, and a light accent.
        color = mentions[0].rgb
        return Palette(shade(color, 1.06), shade(color, 0.86), mix(color, (255, 255, 255), 0.6))
    return Palette(
        roles.get(PRIMARY, base.primary),
        roles.get(SECONDARY, base.secondary),
        roles.get(ACCENT, base.accent),
    )


def shade(rgb: RGB, factor: float) -> RGB:
    """`rgb` lit (factor > 1, towards white) or shaded (factor < 1)."""
    if factor >= 1.0:
        return mix(rgb, (255, 255, 255), factor - 1.0)
    return mix(rgb, (0, 0, 0), 1.0 - factor)


def mix(a: RGB, b: RGB, amount: float) -> RGB:
    red, green, blue = (round(x + (y - x) * amount) for x, y in zip(a, b, strict=True))
    return (red, green, blue)


@dataclass(frozen=True)
class StyleReference:
    """What a reference photo says about palette and light."""

    palette: Palette
    light: Light


def style_from_image(image: Image.Image, base_light: Light) -> StyleReference:
    """The palette (top, bottom, most vivid colour) and the light of a reference photo."""
    small = np.asarray(
        image.convert("RGB").resize((48, 48), Image.Resampling.BOX), dtype=np.float32
    )
    top = _dominant(small[:24])
    bottom = _dominant(small[24:])
    flat = small.reshape(-1, 3)
    chroma = flat.max(axis=1) - flat.min(axis=1)
    vivid = flat[chroma >= np.quantile(chroma, 0.9)].mean(axis=0)
    accent: RGB = (int(vivid[0]), int(vivid[1]), int(vivid[2]))
    grey = small @ np.asarray([0.2126, 0.7152, 0.0722], dtype=np.float32) / 255.0
    brightness = float(np.clip(grey.mean() * 1.15, 0.05, 1.0))
    mean = flat.mean(axis=0)
    warmth = float(np.clip((mean[0] - mean[2]) / 80.0, -1.0, 1.0))
    contrast = float(np.clip(grey.std() * 3.5, 0.0, 1.0))
    left, right = float(grey[:, :24].mean()), float(grey[:, 24:].mean())
    direction = float(np.clip((right - left) * 6.0, -1.0, 1.0))
    time_of_day = base_light.time_of_day
    if brightness < 0.25:
        time_of_day = "night"
    elif warmth > 0.45 and brightness < 0.7:
        time_of_day = "golden" if time_of_day != "studio" else time_of_day
    light = Light(
        time_of_day=time_of_day,
        direction=direction if abs(direction) > 0.1 else base_light.direction,
        elevation=base_light.elevation,
        hardness=contrast,
        warmth=warmth,
        brightness=brightness,
        mood=base_light.mood,
    )
    return StyleReference(Palette(top, bottom, accent), light)


def _dominant(pixels: np.ndarray) -> RGB:
    """The centre of the biggest cluster of similar colours (coarse histogram, 3 bits a channel)."""
    flat = pixels.reshape(-1, 3)
    bins = (flat // 32).astype(np.int32)
    keys = bins[:, 0] * 64 + bins[:, 1] * 8 + bins[:, 2]
    best = np.bincount(keys).argmax()
    chosen = flat[keys == best].mean(axis=0)
    return (int(chosen[0]), int(chosen[1]), int(chosen[2]))
