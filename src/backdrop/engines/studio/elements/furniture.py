"""Furniture and room fittings: each drawn at any place, scale and light (`canvas.Placement`)."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.elements.canvas import Canvas, Color, Look, Placement

Rng = np.random.Generator

_WOOD = (0.55, 0.38, 0.24)
_BOOK_COLORS = (
    (0.62, 0.18, 0.16),
    (0.16, 0.3, 0.5),
    (0.85, 0.75, 0.55),
    (0.2, 0.4, 0.3),
    (0.9, 0.88, 0.82),
    (0.35, 0.25, 0.2),
    (0.75, 0.55, 0.2),
)


def _book_row(
    c: Canvas, at: Placement, look: Look, rng: Rng, x0: float, x1: float, y: float
) -> None:
    """Book spines standing on a shelf from x0 to x1 (element units), `y` the shelf top."""
    x = x0
    while x < x1 - 0.03:
        w = float(rng.uniform(0.025, 0.05))
        tall = float(rng.uniform(0.12, 0.17))
        tone = _BOOK_COLORS[int(rng.integers(len(_BOOK_COLORS)))]
        c.rect(at.p(x, y), at.p(x + w, y + tall), look.lit(tone, 0.0, at.distance))
        x += w + 0.004
        if rng.random() < 0.08:
            x += 0.06  # a gap, as real shelves have


def bookshelf(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A tall bookcase: a wooden carcass and five shelves of book spines."""
    wood = look.lit(_WOOD, 0.0, at.distance)
    c.rect(at.p(-0.3, 0.0), at.p(0.3, 1.0), wood)
    c.rect(at.p(-0.27, 0.03), at.p(0.27, 0.97), wood * 0.55)
    for k in range(5):
        y = 0.03 + k * 0.19
        c.rect(at.p(-0.28, y), at.p(0.28, y + 0.02), wood)
        _book_row(c, at, look, rng, -0.26, 0.26, y + 0.02)


def books(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A stack of books lying flat, a little out of line."""
    c.cast(at.p(-0.6, 0.03), at.p(0.6, -0.05), 0.5)
    y = 0.0
    for _ in range(int(rng.integers(3, 6))):
        thick = float(rng.uniform(0.12, 0.2))
        shift = float(rng.normal(0, 0.06))
        tone = _BOOK_COLORS[int(rng.integers(len(_BOOK_COLORS)))]
        c.rect(at.p(-0.5 + shift, y), at.p(0.5 + shift, y + thick), look.lit(tone, 0.0))
        c.rect(at.p(0.42 + shift, y + 0.02), at.p(0.48 + shift, y + thick - 0.02), (0.95,) * 3)
        y += thick


def sofa(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A sofa: a low back, two arms, seat cushions and short legs."""
    cloth = np.asarray(look.secondary) * 0.8
    c.cast(at.p(-0.9, 0.05), at.p(0.9, -0.08), 0.5)
    c.rect(at.p(-0.8, 0.1), at.p(0.8, 0.75), look.lit(cloth * 0.85, 0.0))
    c.rect(at.p(-0.75, 0.1), at.p(0.75, 0.4), look.lit(cloth, 0.3))
    _arms_and_legs(c, at, look, cloth, (0.8, 0.66, 0.52), (0.74, 0.7))


def armchair(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """An armchair: a high rounded back, arms and a seat."""
    cloth = np.asarray(look.accent) * 0.7 + 0.1
    c.cast(at.p(-0.5, 0.04), at.p(0.5, -0.06), 0.5)
    c.ellipse(at.p(-0.38, 0.35), at.p(0.38, 1.0), look.lit(cloth * 0.85))
    c.rect(at.p(-0.4, 0.1), at.p(0.4, 0.45), look.lit(cloth, 0.3))
    _arms_and_legs(c, at, look, cloth, (0.45, 0.3, 0.6), (0.36, 0.32))


def _arms_and_legs(
    c: Canvas,
    at: Placement,
    look: Look,
    cloth: Color,
    arm: tuple[float, float, float],
    leg: tuple[float, float],
) -> None:
    """A seat's two upholstered arms (outer x, inner x, height), the one facing the light
    brighter, and two short dark legs (outer x, inner x) under them."""
    outer, inner, height = arm
    for side in (-1, 1):
        facing = 0.35 * side * look.side
        c.rect(at.p(side * outer, 0.1), at.p(side * inner, height), look.lit(cloth, facing))
        c.rect(at.p(side * leg[0], 0.0), at.p(side * leg[1], 0.1), look.lit((0.2, 0.15, 0.1)))


def table(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A long table seen from the side: a thick top and four legs."""
    wood = look.lit(_WOOD, 0.0, at.distance)
    c.cast(at.p(-1.0, 0.04), at.p(1.0, -0.06), 0.45)
    c.rect(at.p(-1.0, 0.88), at.p(1.0, 1.0), wood)
    for x in (-0.9, -0.35, 0.35, 0.9):
        c.rect(at.p(x - 0.04, 0.0), at.p(x + 0.04, 0.88), wood * 0.8)


def chairs(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A chair: a back, a seat and legs."""
    tone = look.lit(np.asarray(look.accent) * 0.5 + np.asarray(_WOOD) * 0.5, 0.0, at.distance)
    c.rect(at.p(-0.25, 0.45), at.p(0.25, 0.52), tone)
    c.rect(at.p(0.18, 0.45), at.p(0.25, 1.0), tone)
    for x in (-0.22, 0.2):
        c.rect(at.p(x, 0.0), at.p(x + 0.04, 0.45), tone * 0.8)


def bed(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A bed: a headboard, a mattress with white linen, pillows and a throw."""
    c.cast(at.p(-1.0, 0.05), at.p(1.0, -0.06), 0.45)
    c.rect(at.p(-1.0, 0.0), at.p(-0.85, 1.0), look.lit(_WOOD))
    c.rect(at.p(-0.85, 0.15), at.p(1.0, 0.5), look.lit((0.9, 0.89, 0.86), 0.2))
    c.ellipse(at.p(-0.82, 0.45), at.p(-0.45, 0.7), look.lit((0.98, 0.97, 0.95), 0.4))
    c.rect(at.p(-0.3, 0.15), at.p(1.0, 0.52), look.lit(look.accent, 0.1))
    c.rect(at.p(-0.3, 0.45), at.p(1.0, 0.52), look.lit(np.asarray(look.accent) * 0.8, 0.3))
    c.rect(at.p(-0.85, 0.0), at.p(1.0, 0.15), look.lit(_WOOD, -0.2))


def desk(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A desk with a drawer unit, a lamp and papers on its top."""
    wood = look.lit((0.45, 0.22, 0.14), 0.0, at.distance)
    c.cast(at.p(-0.9, 0.04), at.p(0.9, -0.06), 0.45)
    c.rect(at.p(-0.8, 0.9), at.p(0.8, 1.0), wood)
    c.rect(at.p(0.3, 0.0), at.p(0.75, 0.9), wood * 0.85)
    c.rect(at.p(-0.75, 0.0), at.p(-0.68, 0.9), wood * 0.8)
    for k in range(3):
        c.rect(at.p(0.5, 0.2 + k * 0.25), at.p(0.56, 0.23 + k * 0.25), (0.8, 0.7, 0.4))
    c.rect(at.p(-0.4, 1.0), at.p(-0.1, 1.02), look.lit((0.95, 0.95, 0.93)))


def rug(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A patterned rug on the floor in perspective: a border and a diamond motif."""
    w, d = 1.3, 0.25
    outer = [at.p(-w, 0.0), at.p(w, 0.0), at.p(w * 0.8, d), at.p(-w * 0.8, d)]
    c.polygon(outer, look.lit(look.accent, 0.0))
    inner = [
        at.p(-w * 0.85, 0.03),
        at.p(w * 0.85, 0.03),
        at.p(w * 0.7, d - 0.03),
        at.p(-w * 0.7, d - 0.03),
    ]
    c.polygon(inner, look.lit(np.asarray(look.secondary) * 0.8, 0.0))
    for k in range(-2, 3):
        x = k * 0.4
        c.polygon(
            [at.p(x - 0.12, d / 2), at.p(x, d - 0.05), at.p(x + 0.12, d / 2), at.p(x, 0.05)],
            look.lit(look.accent, 0.2),
        )


def curtains(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A drape hanging in soft vertical folds from a rail."""
    cloth = np.asarray(look.secondary) * 0.5 + np.asarray(look.accent) * 0.3 + 0.15
    for k in range(6):
        x0 = -0.3 + k * 0.1
        c.rect(at.p(x0, 0.0), at.p(x0 + 0.1, 1.0), look.lit(cloth, 0.4 if k % 2 else -0.3))
    c.rect(at.p(-0.35, 0.98), at.p(0.35, 1.01), look.lit((0.3, 0.28, 0.25)))


def floor_lamp(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A floor lamp: a round foot, a thin stem, a drum shade glowing warm."""
    metal = look.lit((0.2, 0.2, 0.2))
    c.cast(at.p(-0.2, 0.02), at.p(0.2, -0.03), 0.5)
    c.ellipse(at.p(-0.12, -0.02), at.p(0.12, 0.03), metal)
    c.rect(at.p(-0.012, 0.0), at.p(0.012, 0.8), metal)
    c.polygon(
        [at.p(-0.12, 0.78), at.p(0.12, 0.78), at.p(0.09, 1.0), at.p(-0.09, 1.0)],
        look.glow((1.0, 0.9, 0.7)),
    )
    c.light(at.p(0.0, 0.86), 0.35 * at.size, (0.45, 0.35, 0.2))


def pendant_lamps(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A lamp hanging on a cord from the top of the frame, its bulb glowing."""
    c.line([(at.x, 0.0), at.p(0.0, 1.0)], (0.15, 0.15, 0.15), 0.003)
    shade = look.lit(np.asarray(look.accent) * 0.6 + 0.2, 0.3)
    c.polygon([at.p(-0.06, 1.0), at.p(0.06, 1.0), at.p(0.16, 0.82), at.p(-0.16, 0.82)], shade)
    c.ellipse(at.p(-0.05, 0.78), at.p(0.05, 0.86), look.glow((1.0, 0.93, 0.75)))
    c.light(at.p(0.0, 0.8), 0.3 * at.size, (0.5, 0.4, 0.25))


def fireplace(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A fireplace against the wall: a stone surround, a mantel shelf, a dark hearth and a fire
    glowing in it."""
    stone = look.lit(np.asarray(look.secondary) * 0.4 + 0.45, 0.2 * look.side)
    c.rect(at.p(-0.6, 0.0), at.p(0.6, 0.85), stone)
    c.rect(at.p(-0.7, 0.85), at.p(0.7, 0.93), look.lit(_WOOD, 0.3))
    c.rect(at.p(-0.38, 0.0), at.p(0.38, 0.55), look.lit((0.08, 0.07, 0.07)))
    flame = look.glow((1.0, 0.62, 0.22))
    for dx in (-0.18, 0.0, 0.16):
        tall = float(rng.uniform(0.18, 0.32))
        c.polygon([at.p(dx - 0.1, 0.05), at.p(dx, 0.05 + tall), at.p(dx + 0.1, 0.05)], flame)
    c.ellipse(at.p(-0.1, 0.05), at.p(0.1, 0.14), look.glow((1.0, 0.9, 0.55)))
    c.light(at.p(0.0, 0.2), 0.8 * at.size, (0.5, 0.28, 0.1))
