"""Landforms and plants: each drawn at any place, scale and light (see `canvas.Placement`)."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.elements.canvas import Canvas, Color, Look, Placement

Rng = np.random.Generator

_GREEN = (0.3, 0.46, 0.26)
_DARK_GREEN = (0.16, 0.3, 0.18)
_BARK = (0.36, 0.26, 0.18)
_ROCK = (0.5, 0.48, 0.47)


def mountains(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A range of peaks across the frame: lit and shaded faces, snow on the summits."""
    peaks = rng.integers(3, 6)
    xs = np.sort(rng.uniform(0.0, 1.0, peaks))
    for index, px in enumerate(xs):
        tall = at.size * rng.uniform(0.55, 1.0)
        half = tall * rng.uniform(0.9, 1.5) / c.aspect
        top = (float(px), at.y - tall)
        left, right = (px - half, at.y + 0.002), (px + half, at.y + 0.002)
        far = min(1.0, at.distance + 0.15 * (index % 2))
        lit_left = look.side < 0
        c.polygon([left, top, (px, at.y + 0.002)], look.lit(_ROCK, 0.8 if lit_left else -0.8, far))
        c.polygon([(px, at.y + 0.002), top, right], look.lit(_ROCK, -0.8 if lit_left else 0.8, far))
        snow = 0.32
        sl = (px - half * snow, top[1] + tall * snow)
        sr = (px + half * snow, top[1] + tall * snow)
        jag = (px + half * 0.05, top[1] + tall * snow * 0.7)
        c.polygon([sl, top, jag], look.lit((0.95, 0.96, 1.0), 0.8 if lit_left else -0.6, far))
        c.polygon([jag, top, sr], look.lit((0.95, 0.96, 1.0), -0.6 if lit_left else 0.8, far))


def hills(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Rolling green hills, overlapping, the nearer ones darker and greener."""
    for layer in range(3):
        cx = float(rng.uniform(-0.1, 1.1))
        w = float(rng.uniform(0.45, 0.8))
        tall = at.size * (0.5 + 0.25 * layer) * float(rng.uniform(0.7, 1.1))
        color = look.lit((0.36 - 0.06 * layer, 0.52 - 0.05 * layer, 0.28), 0.2 * look.side, 0.5)
        c.ellipse((cx - w, at.y - tall), (cx + w, at.y + tall), color)


def trees(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A broadleaf tree: a trunk and a round crown of clumps, lit on the key light's side."""
    c.cast(at.p(-0.35, 0.04), at.p(0.35, -0.04), 0.4)
    c.rect(at.p(-0.04, 0.0), at.p(0.04, 0.45), look.lit(_BARK, 0.0, at.distance))
    crown = look.lit(_GREEN, 0.0, at.distance)
    for _ in range(9):
        dx, dy = rng.normal(0, 0.14), rng.uniform(0.55, 0.85)
        r = rng.uniform(0.14, 0.22)
        facing = float(np.clip(dx * 4 * look.side, -1, 1))
        tone = look.lit(crown * rng.uniform(0.85, 1.1), facing, 0.0)
        c.ellipse(at.p(dx - r, dy - r), at.p(dx + r, dy + r), tone)


def pines(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A conifer: stacked triangles on a short trunk."""
    c.rect(at.p(-0.03, 0.0), at.p(0.03, 0.15), look.lit(_BARK, 0.0, at.distance))
    for k in range(4):
        base, top = 0.1 + k * 0.2, 0.45 + k * 0.18
        half = 0.3 - k * 0.06
        c.polygon(
            [at.p(-half, base), at.p(0.0, top), at.p(half, base)],
            look.lit(_DARK_GREEN, 0.2 * k * look.side, at.distance),
        )


def palms(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A palm tree: a leaning trunk and a crown of long drooping fronds."""
    lean = float(rng.uniform(-0.15, 0.15))
    trunk = [at.p(lean * t * t, t) for t in np.linspace(0.0, 0.85, 8)]
    c.cast(at.p(-0.3, 0.03), at.p(0.3, -0.03), 0.4)
    c.line(trunk, look.lit((0.5, 0.4, 0.3), 0.0, at.distance), 0.035 * at.size)
    top = trunk[-1]
    frond = look.lit((0.22, 0.42, 0.22), 0.0, at.distance)
    for angle in np.linspace(0.15, np.pi - 0.15, 7):
        pts = []
        for t in np.linspace(0.0, 1.0, 6):
            dx = np.cos(angle) * 0.45 * t
            dy = np.sin(angle) * 0.25 * t - 0.3 * t * t
            pts.append((top[0] + dx * at.size / at.aspect, top[1] - dy * at.size))
        c.line(pts, frond, 0.03 * at.size)


def cactus(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A saguaro cactus: a ribbed column with two raised arms."""
    green = look.lit((0.33, 0.5, 0.3), 0.3 * look.side, at.distance)
    c.cast(at.p(-0.3, 0.03), at.p(0.3, -0.03), 0.4)
    c.rect(at.p(-0.08, 0.0), at.p(0.08, 0.92), green)
    c.ellipse(at.p(-0.08, 0.84), at.p(0.08, 1.0), green)
    for side, height in ((-1, 0.4), (1, 0.55)):
        c.rect(at.p(side * 0.08, height), at.p(side * 0.25, height + 0.07), green)
        c.rect(at.p(side * 0.18, height), at.p(side * 0.27, height + 0.3), green)
        c.ellipse(at.p(side * 0.18, height + 0.26), at.p(side * 0.27, height + 0.34), green)


def flowers(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A drift of blooms on stems in the accent colour and two companions."""
    # Blooms keep flower colours whatever the palette: the accent joins pinks, reds and whites.
    colors: list[Color] = [
        look.accent,
        (0.93, 0.35, 0.5),
        (0.98, 0.96, 0.9),
        (0.95, 0.75, 0.2),
        (0.8, 0.2, 0.2),
    ]
    stem = look.lit((0.25, 0.45, 0.22), 0.0, at.distance)
    for _ in range(22):
        dx, dy = float(rng.normal(0, 0.45)), float(rng.uniform(0.25, 0.75))
        c.line([at.p(dx, 0.0), at.p(dx, dy)], stem, 0.01 * at.size)
    for _ in range(22):
        dx, dy = float(rng.normal(0, 0.45)), float(rng.uniform(0.25, 0.75))
        r = float(rng.uniform(0.05, 0.09))
        tone = look.lit(colors[int(rng.integers(5))], float(rng.uniform(-0.3, 0.6)), at.distance)
        c.ellipse(at.p(dx - r, dy - r), at.p(dx + r, dy + r), tone)


def bushes(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A rounded shrub of overlapping leafy clumps."""
    c.cast(at.p(-0.6, 0.04), at.p(0.6, -0.05), 0.4)
    for _ in range(10):
        dx, dy = float(rng.normal(0, 0.28)), float(rng.uniform(0.2, 0.5))
        r = float(rng.uniform(0.18, 0.3))
        tone = look.lit(np.asarray(_GREEN) * rng.uniform(0.8, 1.1), dx * look.side, at.distance)
        c.ellipse(at.p(dx - r, dy - r), at.p(dx + r, min(dy + r, dy + 0.2)), tone)


def potted_plant(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A plant in a pot: a tapered pot and a bush of long pointed leaves."""
    c.cast(at.p(-0.3, 0.03), at.p(0.3, -0.04), 0.5)
    pot = look.lit((0.86, 0.84, 0.8), -0.3 * look.side, at.distance)
    c.polygon([at.p(-0.2, 0.35), at.p(0.2, 0.35), at.p(0.15, 0.0), at.p(-0.15, 0.0)], pot)
    for _ in range(14):
        angle = float(rng.uniform(0.3, np.pi - 0.3))
        length = float(rng.uniform(0.35, 0.65))
        tip = (np.cos(angle) * length, 0.35 + np.sin(angle) * length)
        mid = (tip[0] * 0.5 - 0.05, 0.35 + (tip[1] - 0.35) * 0.5)
        mid2 = (tip[0] * 0.5 + 0.05, 0.35 + (tip[1] - 0.35) * 0.5)
        tone = look.lit(np.asarray(_GREEN) * rng.uniform(0.75, 1.2), tip[0] * look.side * 2)
        c.polygon([at.p(0.0, 0.35), at.p(*mid), at.p(*tip), at.p(*mid2)], tone)


def water(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A band of still water in front of the far land: sky-coloured with bright ripple lines."""
    surface = look.lit(np.asarray(look.haze) * 0.6 + np.asarray([0.1, 0.2, 0.3]) * 0.4, 0.0, 0.1)
    c.rect((0.0, at.y), (1.0, at.y + at.size), surface)
    shine = look.lit(np.asarray(look.haze) * 0.3 + 0.7, 0.5)
    for _ in range(16):
        x, y = float(rng.uniform(0, 1)), at.y + float(rng.uniform(0.1, 0.9)) * at.size
        c.line([(x, y), (x + float(rng.uniform(0.03, 0.12)), y)], shine, 0.003)


def path(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A walking path winding from the front towards the horizon, lined by a darker verge."""
    bend = float(rng.uniform(-0.15, 0.15))
    near_w, far_w = 0.35, 0.02
    x0 = at.x + bend
    verge = look.lit((0.45, 0.4, 0.32), 0.0, 0.0)
    gravel = look.lit((0.78, 0.72, 0.6), 0.2, 0.0)
    for color, grow in ((verge, 1.15), (gravel, 1.0)):
        c.polygon(
            [
                (x0 - near_w * grow, 1.0),
                (at.x - far_w * grow, at.y),
                (at.x + far_w * grow, at.y),
                (x0 + near_w * grow, 1.0),
            ],
            color,
        )
