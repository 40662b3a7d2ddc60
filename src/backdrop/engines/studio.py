"""A fast, model-free background generator: a lit studio sweep coloured after the prompt.

The prompt picks a palette: colours it names ("dark blue", "#ff8800") win; otherwise the first
mood word ("sunset", "forest", "marble", ...) does; otherwise a neutral light-grey studio.
New moods are one line in `MOOD_PALETTES`.
The backdrop is a wall-to-floor gradient with a soft horizon, a vignette and a faint grain, and
the subject gets a contact shadow derived from its matte. Only numpy and Pillow are used.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

from backdrop.imaging.colors import RGB, color_mentions
from backdrop.imaging.compose import Alpha, on_image

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Palette:
    """The colours of a studio sweep: the wall from top to bottom, then the floor."""

    wall_top: RGB
    wall_bottom: RGB
    floor: RGB


DEFAULT_PALETTE = Palette(
    wall_top=(234, 234, 236), wall_bottom=(214, 214, 217), floor=(198, 198, 202)
)

_SUNSET = Palette(wall_top=(226, 108, 138), wall_bottom=(255, 172, 98), floor=(196, 118, 92))
_SEASIDE = Palette(wall_top=(62, 132, 196), wall_bottom=(150, 204, 232), floor=(226, 206, 162))
_FOREST = Palette(wall_top=(62, 104, 58), wall_bottom=(124, 162, 92), floor=(82, 92, 52))
_NIGHT = Palette(wall_top=(8, 12, 36), wall_bottom=(30, 42, 88), floor=(14, 18, 36))
_WINTER = Palette(wall_top=(238, 244, 252), wall_bottom=(200, 222, 242), floor=(244, 248, 252))
_MARBLE = Palette(wall_top=(236, 236, 236), wall_bottom=(216, 216, 219), floor=(196, 196, 200))
_WOOD = Palette(wall_top=(158, 112, 76), wall_bottom=(124, 84, 54), floor=(98, 64, 40))
_STUDIO = Palette(wall_top=(250, 250, 250), wall_bottom=(240, 240, 240), floor=(228, 228, 228))
_DARK = Palette(wall_top=(48, 48, 52), wall_bottom=(30, 30, 33), floor=(20, 20, 22))
_DESERT = Palette(wall_top=(236, 190, 140), wall_bottom=(230, 170, 110), floor=(204, 150, 96))
_AUTUMN = Palette(wall_top=(196, 110, 52), wall_bottom=(222, 150, 70), floor=(120, 74, 40))

# Mood words of a prompt, matched as whole lower-case words.
MOOD_PALETTES: dict[str, Palette] = {
    "sunset": _SUNSET,
    "sunrise": _SUNSET,
    "golden": _SUNSET,
    "ocean": _SEASIDE,
    "sea": _SEASIDE,
    "beach": _SEASIDE,
    "forest": _FOREST,
    "nature": _FOREST,
    "jungle": _FOREST,
    "garden": _FOREST,
    "night": _NIGHT,
    "snow": _WINTER,
    "winter": _WINTER,
    "ice": _WINTER,
    "marble": _MARBLE,
    "wood": _WOOD,
    "wooden": _WOOD,
    "studio": _STUDIO,
    "white": _STUDIO,
    "dark": _DARK,
    "black": _DARK,
    "desert": _DESERT,
    "sand": _DESERT,
    "autumn": _AUTUMN,
    "fall": _AUTUMN,
}

_WORD = re.compile(r"[a-z]+")

# Rendering constants, as fractions of the image height unless noted.
_HORIZON_DEFAULT = 0.62
_HORIZON_MIN, _HORIZON_MAX = 0.30, 0.78
_HORIZON_SOFTNESS = 0.07
_FLOOR_FALLOFF = 0.10  # floor darkens by this fraction towards the camera
_VIGNETTE = 0.20  # darkening at the corners
_GRAIN_LEVELS = 1.2  # standard deviation of the grain, in 0..255 levels
_SHADOW_WORK_SIDE = 160  # shadows are blurred on an image this many pixels on its long side


@dataclass(frozen=True)
class _ShadowLayer:
    squash: float  # height of the shadow relative to the subject's height
    offset: float  # downward shift below the subject's base, fraction of image height
    blur: float  # blur radius, fraction of the image's long side
    strength: float  # darkening at full opacity, 0..1


# A tight dark contact line plus a wide soft ambient pool: together they read as "standing on".
_SHADOW_LAYERS = (
    _ShadowLayer(squash=0.04, offset=0.004, blur=0.008, strength=0.45),
    _ShadowLayer(squash=0.16, offset=0.012, blur=0.035, strength=0.30),
)


def palette_for_prompt(prompt: str) -> Palette:
    """The palette a prompt asks for: its named colours, else its first mood word, else neutral.

    "snow", "white" and "black" are both CSS colours and mood words; alone they count as moods,
    whose palettes are tuned, so "snow in winter" gets the winter palette, not flat snow-white.
    """
    mentions = color_mentions(prompt)
    if any(name not in MOOD_PALETTES for name, _ in mentions):
        return _palette_from_colors([rgb for _, rgb in mentions])
    for word in _WORD.findall(prompt.lower()):
        palette = MOOD_PALETTES.get(word)
        if palette is not None:
            return palette
    return DEFAULT_PALETTE


class StudioGenerator:
    """Generates a studio-sweep background behind a subject; deterministic for a seed."""

    engine_id = "studio"

    def generate(
        self, image: Image.Image, alpha: Alpha, prompt: str, *, seed: int | None = None
    ) -> Image.Image:
        """The subject on a generated backdrop, "RGB" at the input's size.

        Without a seed the prompt seeds the grain, so the same request gives the same bytes.
        """
        width, height = image.size
        if alpha.shape != (height, width):
            raise ValueError(f"matte shape {alpha.shape} does not match image size {image.size}")
        palette = palette_for_prompt(prompt)
        if seed is None:
            seed = zlib.crc32(prompt.encode("utf-8"))
        horizon = _horizon_for(alpha)
        shading = _vignette(width, height) * (1.0 - _contact_shadow(alpha))
        backdrop = _sweep(height, palette, horizon)[:, None, :] * shading[:, :, None]
        # numpy refuses negative seeds; folding into 64 bits keeps any int a valid, stable seed.
        rng = np.random.default_rng(seed % 2**64)
        grain = rng.standard_normal((height, width), dtype=np.float32) * _GRAIN_LEVELS
        backdrop += grain[:, :, None]
        pixels = np.clip(np.rint(backdrop), 0, 255).astype(np.uint8)
        return on_image(image.convert("RGB"), alpha, Image.fromarray(pixels))


def _palette_from_colors(colors: list[RGB]) -> Palette:
    """One colour: a lit wall of it and a shaded floor; two: a wall gradient; three: plus floor."""
    if len(colors) == 1:
        (color,) = colors
        return Palette(_mix(color, (255, 255, 255), 0.15), color, _mix(color, (0, 0, 0), 0.18))
    floor = colors[2] if len(colors) >= 3 else _mix(colors[1], (0, 0, 0), 0.18)
    return Palette(colors[0], colors[1], floor)


def _mix(color: RGB, other: RGB, amount: float) -> RGB:
    red, green, blue = (round(a + (b - a) * amount) for a, b in zip(color, other, strict=True))
    return (red, green, blue)


def _horizon_for(alpha: Alpha) -> float:
    """Where the wall meets the floor: a little above the subject's base, so it stands on it."""
    rows = np.flatnonzero(alpha.max(axis=1) >= 128)
    if rows.size == 0:
        return _HORIZON_DEFAULT
    height = alpha.shape[0]
    top, bottom = rows[0] / height, (rows[-1] + 1) / height
    horizon = bottom - 0.25 * (bottom - top)
    return float(np.clip(horizon, _HORIZON_MIN, _HORIZON_MAX))


def _sweep(height: int, palette: Palette, horizon: float) -> FloatArray:
    """The colour of each row (height, 3): wall gradient, soft bend, floor falling off."""
    t = (np.arange(height, dtype=np.float32) + 0.5) / height
    wall_t = np.clip(t / horizon, 0.0, 1.0)[:, None]
    wall_top = np.asarray(palette.wall_top, dtype=np.float32)
    wall_bottom = np.asarray(palette.wall_bottom, dtype=np.float32)
    wall = wall_top + (wall_bottom - wall_top) * wall_t
    floor_t = np.clip((t - horizon) / max(1.0 - horizon, 1e-6), 0.0, 1.0)[:, None]
    floor = np.asarray(palette.floor, dtype=np.float32) * (1.0 - _FLOOR_FALLOFF * floor_t)
    # A smoothstep across the horizon stands in for the curved sweep of a studio backdrop.
    edge = np.clip((t - horizon + _HORIZON_SOFTNESS) / (2 * _HORIZON_SOFTNESS), 0.0, 1.0)
    bend = (edge * edge * (3.0 - 2.0 * edge))[:, None]
    rows: FloatArray = (wall * (1.0 - bend) + floor * bend).astype(np.float32)
    return rows


def _vignette(width: int, height: int) -> FloatArray:
    """A multiplicative darkening (height, width) that grows towards the corners."""
    x = (np.arange(width, dtype=np.float32) + 0.5) / width * 2.0 - 1.0
    y = (np.arange(height, dtype=np.float32) + 0.5) / height * 2.0 - 1.0
    radius2 = (x * x)[None, :] + (y * y)[:, None]
    result: FloatArray = (1.0 - _VIGNETTE * 0.5 * radius2).astype(np.float32)
    return result


def _contact_shadow(alpha: Alpha) -> FloatArray:
    """How much the floor under the subject is darkened (height, width), 0..1."""
    height, width = alpha.shape
    scale = min(1.0, _SHADOW_WORK_SIDE / max(height, width))
    small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(np.ascontiguousarray(alpha)).resize(small_size, Image.Resampling.BOX)
    rows = np.flatnonzero(np.asarray(small).max(axis=1) >= 32)
    if rows.size == 0:
        return np.zeros((height, width), dtype=np.float32)
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    subject = small.crop((0, top, small.width, bottom))
    total = np.zeros((small.height, small.width), dtype=np.float32)
    for layer in _SHADOW_LAYERS:
        squashed_height = max(1, round((bottom - top) * layer.squash))
        squashed = subject.resize((small.width, squashed_height), Image.Resampling.BILINEAR)
        canvas = Image.new("L", small.size, 0)
        base = bottom + round(layer.offset * small.height)
        canvas.paste(squashed, (0, base - squashed_height))
        radius = max(0.5, layer.blur * max(small.size))
        blurred = canvas.filter(ImageFilter.GaussianBlur(radius))
        total += np.asarray(blurred, dtype=np.float32) / 255.0 * layer.strength
    # Upscaling the smooth, small shadow is what keeps this fast on large images.
    shadow = Image.fromarray(np.clip(total * 255.0, 0, 255).astype(np.uint8))
    shadow = shadow.resize((width, height), Image.Resampling.BILINEAR)
    result: FloatArray = np.asarray(shadow, dtype=np.float32) / 255.0
    return result
