"""Where elements are drawn: flat shapes in frame fractions, their coverage and the shadows
they cast, laid over the painted setting in one pass; and how one element is placed and lit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from backdrop.engines.studio.layers import F, blend

Point = tuple[float, float]
# A colour as the drawing functions pass it: an RGB array or triple, 0..1.
Color = npt.NDArray[np.floating[Any]] | Sequence[float]


@dataclass(frozen=True)
class Placement:
    """Where one element stands: `x` its centre and `y` its base (fractions of the frame),
    `size` its height (fraction of the frame's height), `distance` 0 near .. 1 lost in haze.

    Elements are drawn in their own units: `p(dx, dy)` is `dx` heights to the right and `dy`
    heights up from the base, so one drawing works at any position and scale."""

    x: float
    y: float
    size: float
    aspect: float
    distance: float = 0.0

    def p(self, dx: float, dy: float) -> Point:
        return (self.x + dx * self.size / self.aspect, self.y - dy * self.size)

    def box(self, dx0: float, dy0: float, dx1: float, dy1: float) -> tuple[Point, Point]:
        return self.p(dx0, dy1), self.p(dx1, dy0)


@dataclass(frozen=True)
class Look:
    """The scene's colours and light as elements need them."""

    primary: F
    secondary: F
    accent: F
    haze: F
    side: float  # where the key light comes from: -1 left .. 1 right
    key: F  # the key light's colour
    brightness: float
    night: bool

    def lit(self, color: Color, facing: float = 0.0, distance: float = 0.0) -> F:
        """`color` under the scene's light: `facing` -1 turned away .. 1 towards the key light;
        darker at night, tinted by the key, faded into the haze with distance."""
        base = np.asarray(color, dtype=np.float32)
        level = (0.55 if self.night else 0.8 + 0.25 * self.brightness) * (1.0 + 0.22 * facing)
        shaded = np.clip(base * level * (0.85 + 0.15 * self.key), 0.0, 1.0)
        result: F = blend(shaded.astype(np.float32), self.haze, distance * 0.85)
        return result

    def glow(self, color: Color) -> F:
        """A light source's own colour: not darkened by the night."""
        return np.clip(np.asarray(color, dtype=np.float32), 0.0, 1.0).astype(np.float32)


class Canvas:
    """Flat shapes drawn in frame fractions; `over(image)` lays them (and their shadows) on."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.color = Image.new("RGB", (width, height))
        self.cover = Image.new("L", (width, height))
        self.shadow = Image.new("L", (width, height))
        self.lights = Image.new("RGB", (width, height))
        self._paint, self._ink = ImageDraw.Draw(self.color), ImageDraw.Draw(self.cover)
        self._shade, self._glow = ImageDraw.Draw(self.shadow), ImageDraw.Draw(self.lights)

    @property
    def aspect(self) -> float:
        return self.width / max(self.height, 1)

    def _px(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * self.width, y * self.height) for x, y in points]

    @staticmethod
    def _rgb(color: Color) -> tuple[int, int, int]:
        r, g, b = (int(np.clip(c, 0.0, 1.0) * 255 + 0.5) for c in color)
        return (r, g, b)

    def polygon(self, points: Sequence[Point], color: Color) -> None:
        px = self._px(points)
        self._paint.polygon(px, fill=self._rgb(color))
        self._ink.polygon(px, fill=255)

    def rect(self, a: Point, b: Point, color: Color) -> None:
        (x0, y0), (x1, y1) = self._px((a, b))
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self._paint.rectangle(box, fill=self._rgb(color))
        self._ink.rectangle(box, fill=255)

    def ellipse(self, a: Point, b: Point, color: Color) -> None:
        (x0, y0), (x1, y1) = self._px((a, b))
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self._paint.ellipse(box, fill=self._rgb(color))
        self._ink.ellipse(box, fill=255)

    def line(self, points: Sequence[Point], color: Color, width: float) -> None:
        """A polyline `width` frame heights thick."""
        thick = max(1, round(width * self.height))
        px = self._px(points)
        self._paint.line(px, fill=self._rgb(color), width=thick)
        self._ink.line(px, fill=255, width=thick)

    def cast(self, a: Point, b: Point, strength: float = 0.5) -> None:
        """A soft shadow ellipse on the ground or wall (blurred when laid on)."""
        (x0, y0), (x1, y1) = self._px((a, b))
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        self._shade.ellipse(box, fill=int(255 * np.clip(strength, 0, 1)))

    def light(self, centre: Point, radius: float, color: Color) -> None:
        """A glow added as light (lamps, candles, fireworks); `radius` in frame heights."""
        x, y = centre[0] * self.width, centre[1] * self.height
        r = radius * self.height
        self._glow.ellipse((x - r, y - r, x + r, y + r), fill=self._rgb(color))

    def over(self, image: F) -> F:
        """`image` with the shadows, the shapes and the glows of this canvas laid on it."""
        soft = max(1.0, self.height * 0.012)
        shadow = np.asarray(self.shadow.filter(ImageFilter.GaussianBlur(soft)), dtype=np.float32)
        image = (image * (1.0 - shadow[..., None] / 255.0)).astype(np.float32)
        cover = np.asarray(self.cover, dtype=np.float32) / 255.0
        color = np.asarray(self.color, dtype=np.float32) / 255.0
        image = blend(image, color, cover)
        if self.lights.getbbox() is not None:
            glow = self.lights.filter(ImageFilter.GaussianBlur(max(1.0, self.height * 0.02)))
            added = np.asarray(glow, dtype=np.float32) / 255.0
            image = (1.0 - (1.0 - image) * (1.0 - added)).astype(np.float32)
        result: F = np.clip(image, 0.0, 1.0).astype(np.float32)
        return result

    def merge(self, other: Canvas, a: Point, b: Point) -> None:
        """Lay `other`'s shapes on this canvas inside the box a..b only (a window's view)."""
        (x0, y0), (x1, y1) = self._px((a, b))
        box = (int(min(x0, x1)), int(min(y0, y1)), int(max(x0, x1)), int(max(y0, y1)))
        if box[2] <= box[0] or box[3] <= box[1]:
            return
        self.color.paste(other.color.crop(box), box[:2], other.cover.crop(box))
        self.cover.paste(255, box, other.cover.crop(box))
        self.lights.paste(other.lights.crop(box), box[:2], other.cover.crop(box))
