"""Buildings and structures: each drawn at any place, scale and light (see `canvas.Placement`)."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.elements.canvas import Canvas, Look, Placement, Point

Rng = np.random.Generator

_STONE = (0.86, 0.83, 0.76)
_WINDOW_LIT = (1.0, 0.86, 0.55)


def skyline(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Towers across the frame with rows of windows, lit at night."""
    x = -float(rng.uniform(0, 0.04))
    body = look.lit(np.asarray(look.primary) * 0.35 + 0.25, 0.0, at.distance)
    while x < 1.0:
        w = float(rng.uniform(0.04, 0.1))
        tall = at.size * float(rng.uniform(0.35, 1.0))
        shade = body * (0.85 + 0.3 * float(rng.random()))
        c.rect((x, at.y - tall), (x + w, at.y + 0.002), shade)
        glass = look.glow(_WINDOW_LIT) if look.night else look.lit((0.7, 0.8, 0.9), 0.3, 0.3)
        for wy in np.arange(at.y - tall + 0.012, at.y - 0.006, 0.022):
            if rng.random() < (0.5 if look.night else 0.8):
                c.rect((x + 0.006, wy), (x + w - 0.006, wy + 0.006), glass)
        x += w + float(rng.uniform(0.0, 0.015))


def houses(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A row of three narrow gabled houses in cheerful colours, with windows and doors."""
    colors = [(0.85, 0.45, 0.35), (0.95, 0.8, 0.45), (0.45, 0.65, 0.8), (0.9, 0.9, 0.85)]
    for k in range(3):
        dx = (k - 1) * 0.5
        wall = colors[int(rng.integers(len(colors)))]
        c.rect(at.p(dx - 0.22, 0.0), at.p(dx + 0.22, 0.6), look.lit(wall, 0.3 * look.side))
        roof = look.lit((0.55, 0.25, 0.2), 0.0, at.distance)
        c.polygon([at.p(dx - 0.26, 0.6), at.p(dx, 0.92), at.p(dx + 0.26, 0.6)], roof)
        glass = look.glow(_WINDOW_LIT) if look.night else look.lit((0.35, 0.45, 0.55))
        for wx in (-0.12, 0.06):
            c.rect(at.p(dx + wx, 0.32), at.p(dx + wx + 0.07, 0.45), glass)
        c.rect(at.p(dx - 0.04, 0.0), at.p(dx + 0.04, 0.2), look.lit((0.3, 0.2, 0.15)))


def lighthouse(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A striped tapering tower on a rock, with a lamp room and its beam at night."""
    c.ellipse(at.p(-0.4, -0.08), at.p(0.4, 0.12), look.lit((0.35, 0.33, 0.32), 0.0, at.distance))
    for k in range(5):
        y0, y1 = 0.05 + k * 0.15, 0.2 + k * 0.15
        w0, w1 = 0.14 - 0.012 * k, 0.14 - 0.012 * (k + 1)
        color = (0.85, 0.2, 0.18) if k % 2 else (0.95, 0.95, 0.92)
        c.polygon(
            [at.p(-w0, y0), at.p(-w1, y1), at.p(w1, y1), at.p(w0, y0)],
            look.lit(color, 0.2, at.distance),
        )
    c.rect(at.p(-0.07, 0.8), at.p(0.07, 0.9), look.glow((1.0, 0.92, 0.6)))
    c.polygon([at.p(-0.09, 0.9), at.p(0.0, 1.0), at.p(0.09, 0.9)], look.lit((0.2, 0.2, 0.22)))
    if look.night:
        c.light(at.p(0.0, 0.85), 0.04 * at.size / 0.3, (1.0, 0.9, 0.6))


def sailboats(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A small sailboat: a hull and two white sails."""
    c.polygon(
        [at.p(-0.4, 0.12), at.p(0.4, 0.12), at.p(0.3, 0.0), at.p(-0.3, 0.0)],
        look.lit((0.3, 0.25, 0.22), 0.0, at.distance),
    )
    sail = look.lit((0.97, 0.96, 0.93), 0.5 * look.side, at.distance)
    c.polygon([at.p(0.0, 0.15), at.p(0.0, 1.0), at.p(0.35, 0.18)], sail)
    c.polygon([at.p(-0.03, 0.2), at.p(-0.03, 0.8), at.p(-0.3, 0.2)], sail * 0.92)


def bridge(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A suspension bridge across the frame: two towers, a deck, sagging cables."""
    steel = look.lit(np.asarray(look.accent) * 0.5 + 0.2, 0.0, at.distance)
    deck_y = at.y - at.size * 0.25
    c.rect((0.0, deck_y), (1.0, deck_y + 0.012), steel)
    towers = (0.22, 0.78)
    for tx in towers:
        c.rect((tx - 0.012, at.y - at.size), (tx + 0.012, at.y), steel)
    width = max(1.0 / max(c.height, 1), 0.003)
    for a, b in ((-0.2, towers[0]), (towers[0], towers[1]), (towers[1], 1.2)):
        pts: list[Point] = []
        for t in np.linspace(0.0, 1.0, 12):
            x = a + (b - a) * t
            sag = 4 * t * (1 - t) * (at.size * 0.7)
            top = at.y - at.size + (sag if a >= 0 and b <= 1 else sag * 0.5)
            pts.append((x, min(top, deck_y)))
        c.line(pts, steel, width)


def columns(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A classical column: a base, a fluted shaft and a capital."""
    c.cast(at.p(-0.25, 0.02), at.p(0.25, -0.03), 0.4)
    stone = _STONE
    c.rect(at.p(-0.14, 0.0), at.p(0.14, 0.05), look.lit(stone, 0.0, at.distance))
    for k in range(5):
        x0 = -0.09 + k * 0.036
        facing = float(np.clip((x0 + 0.018) * 10 * look.side, -1, 1))
        c.rect(at.p(x0, 0.05), at.p(x0 + 0.036, 0.92), look.lit(stone, facing, at.distance))
    c.rect(at.p(-0.15, 0.92), at.p(0.15, 0.96), look.lit(stone, 0.3, at.distance))
    c.rect(at.p(-0.17, 0.96), at.p(0.17, 1.0), look.lit(stone, 0.1, at.distance))


def arches(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A round arch: two piers and a semicircle, a darker opening beneath."""
    wall = np.asarray(look.secondary) * 0.4 + np.asarray(_STONE) * 0.6
    c.rect(at.p(-0.45, 0.0), at.p(0.45, 1.0), look.lit(wall, 0.2 * look.side, at.distance))
    opening = look.lit(np.asarray(look.haze) * 0.8, 0.0, at.distance)
    c.rect(at.p(-0.3, 0.0), at.p(0.3, 0.6), opening)
    c.ellipse(at.p(-0.3, 0.3), at.p(0.3, 0.9), opening)


def shop_fronts(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A shop front: a façade, a striped awning, a glowing display window and a door."""
    facade = look.lit(np.asarray(look.secondary) * 0.5 + 0.3, 0.2 * look.side, at.distance)
    c.rect(at.p(-0.5, 0.0), at.p(0.5, 1.0), facade)
    stripe = [look.lit(look.accent, 0.3), look.lit((0.96, 0.95, 0.9), 0.3)]
    for k in range(8):
        x0 = -0.5 + k * 0.125
        c.polygon(
            [at.p(x0, 0.72), at.p(x0 + 0.125, 0.72), at.p(x0 + 0.14, 0.6), at.p(x0 + 0.01, 0.6)],
            stripe[k % 2],
        )
    glass = look.glow((1.0, 0.85, 0.6)) if look.night else look.lit((0.75, 0.8, 0.82), 0.4)
    c.rect(at.p(-0.42, 0.12), at.p(0.12, 0.56), glass)
    c.rect(at.p(0.2, 0.0), at.p(0.42, 0.52), look.lit((0.3, 0.22, 0.18)))
    if look.night:
        c.light(at.p(-0.15, 0.34), 0.25 * at.size, (0.6, 0.45, 0.25))


def street_lamps(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A street lamp: a thin post, a lantern head and, after dark, its glow."""
    iron = look.lit((0.15, 0.15, 0.16))
    c.rect(at.p(-0.02, 0.0), at.p(0.02, 0.88), iron)
    c.polygon([at.p(-0.08, 0.88), at.p(0.0, 1.0), at.p(0.08, 0.88)], iron)
    c.rect(at.p(-0.05, 0.8), at.p(0.05, 0.88), look.glow((1.0, 0.88, 0.6)))
    if look.night:
        c.light(at.p(0.0, 0.84), 0.25 * at.size, (0.7, 0.55, 0.3))


def window(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A tall window: a frame and a bright pane (its view is drawn into `window_pane`)."""
    frame = look.lit(np.asarray(look.primary) * 0.6, 0.0)
    c.rect(at.p(-0.42, -0.03), at.p(0.42, 1.03), frame)
    top, low = (0.25, 0.35, 0.6) if look.night else (0.62, 0.78, 0.95), look.haze
    (x0, y0), (x1, y1) = window_pane(at)
    for k in range(6):
        t = k / 5
        color = np.asarray(top) * (1 - t) + np.asarray(low) * t
        c.rect((x0, y0 + (y1 - y0) * k / 6), (x1, y0 + (y1 - y0) * (k + 1) / 6), color)


def window_pane(at: Placement) -> tuple[Point, Point]:
    """The glass of `window`: where a view is drawn."""
    return at.p(-0.38, 1.0), at.p(0.38, 0.0)


def window_bars(c: Canvas, at: Placement, look: Look) -> None:
    """The glazing bars over the view, drawn after it."""
    frame = look.lit(np.asarray(look.primary) * 0.6, 0.0)
    c.rect(at.p(-0.012, 0.0), at.p(0.012, 1.0), frame)
    c.rect(at.p(-0.38, 0.49), at.p(0.38, 0.51), frame)
