"""Decorations, props and celebrations: each drawn at any place, scale and light."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.elements.canvas import Canvas, Look, Placement

Rng = np.random.Generator

_GOLD = (0.85, 0.68, 0.3)
_FESTIVE = ((0.9, 0.3, 0.35), (0.3, 0.6, 0.9), (0.98, 0.8, 0.3), (0.5, 0.8, 0.5), (0.85, 0.5, 0.85))


def lanterns(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A paper lantern hanging on a cord, glowing from within."""
    c.line([(at.x, 0.0), at.p(0.0, 1.0)], (0.2, 0.15, 0.1), 0.002)
    body = look.glow(np.asarray(look.accent) * 0.5 + np.asarray((1.0, 0.55, 0.3)) * 0.5)
    c.ellipse(at.p(-0.1, 0.72), at.p(0.1, 0.98), body)
    c.rect(at.p(-0.05, 0.96), at.p(0.05, 1.0), (0.2, 0.15, 0.1))
    c.light(at.p(0.0, 0.85), 0.2 * at.size, (0.6, 0.35, 0.15))


def candles(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Three pillar candles of different heights, their flames glowing."""
    c.cast(at.p(-0.5, 0.03), at.p(0.5, -0.05), 0.4)
    for dx, tall in ((-0.3, 0.5), (0.0, 0.8), (0.28, 0.35)):
        c.rect(
            at.p(dx - 0.1, 0.0), at.p(dx + 0.1, tall), look.lit((0.96, 0.93, 0.85), 0.3 * look.side)
        )
        c.ellipse(
            at.p(dx - 0.025, tall + 0.02),
            at.p(dx + 0.025, tall + 0.14),
            look.glow((1.0, 0.85, 0.45)),
        )
        c.light(at.p(dx, tall + 0.08), 0.25 * at.size, (0.55, 0.38, 0.15))


def paintings(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A framed painting: a gilt or dark frame around an abstract landscape."""
    frame = look.lit(_GOLD if rng.random() < 0.5 else (0.15, 0.12, 0.1), 0.2)
    c.rect(at.p(-0.55, 0.0), at.p(0.55, 1.0), frame)
    sky = np.asarray(look.primary) * 0.5 + np.asarray((0.6, 0.75, 0.9)) * 0.5
    c.rect(at.p(-0.47, 0.08), at.p(0.47, 0.92), look.lit(sky))
    land = _FESTIVE[int(rng.integers(len(_FESTIVE)))]
    c.polygon(
        [at.p(-0.47, 0.08), at.p(-0.47, 0.45), at.p(0.1, 0.6), at.p(0.47, 0.35), at.p(0.47, 0.08)],
        look.lit(land),
    )
    c.ellipse(at.p(0.15, 0.65), at.p(0.3, 0.8), look.lit((1.0, 0.9, 0.6)))


def paint_splashes(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Bold splashes of paint: blobs with drips and flung droplets, in many colours."""
    for _ in range(6):
        color = look.glow(_FESTIVE[int(rng.integers(len(_FESTIVE)))])
        cx, cy = float(rng.uniform(-1.2, 1.2)), float(rng.uniform(0.1, 0.9))
        r = float(rng.uniform(0.1, 0.22))
        c.ellipse(at.p(cx - r, cy - r), at.p(cx + r, cy + r), color)
        for _ in range(7):
            a, d = float(rng.uniform(0, 2 * np.pi)), r * float(rng.uniform(1.2, 2.2))
            s = r * float(rng.uniform(0.1, 0.3))
            px, py = cx + np.cos(a) * d, cy + np.sin(a) * d
            c.ellipse(at.p(px - s, py - s), at.p(px + s, py + s), color)
        c.rect(at.p(cx - r * 0.15, cy - r * 2.2), at.p(cx + r * 0.15, cy), color)


def clock(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A round wall or station clock: a rim, a white face, hour marks and two hands."""
    c.ellipse(at.p(-0.5, 0.0), at.p(0.5, 1.0), look.lit((0.15, 0.15, 0.15)))
    c.ellipse(at.p(-0.43, 0.07), at.p(0.43, 0.93), look.lit((0.97, 0.96, 0.92), 0.3))
    for k in range(12):
        a = k * np.pi / 6
        c.line(
            [
                at.p(np.cos(a) * 0.36, 0.5 + np.sin(a) * 0.36),
                at.p(np.cos(a) * 0.42, 0.5 + np.sin(a) * 0.42),
            ],
            (0.1,) * 3,
            0.02 * at.size,
        )
    c.line([at.p(0, 0.5), at.p(0.0, 0.82)], (0.1,) * 3, 0.04 * at.size)
    c.line([at.p(0, 0.5), at.p(0.22, 0.42)], (0.1,) * 3, 0.05 * at.size)


def screens(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A glowing screen or board on a stand: a monitor, a whiteboard with notes, a panel."""
    c.rect(at.p(-0.06, 0.0), at.p(0.06, 0.3), look.lit((0.2, 0.2, 0.22)))
    c.rect(at.p(-0.6, 0.25), at.p(0.6, 1.0), look.lit((0.12, 0.12, 0.14)))
    face = look.glow(np.asarray(look.accent) * 0.6 + 0.3)
    c.rect(at.p(-0.55, 0.3), at.p(0.55, 0.95), face)
    for _ in range(6):
        x, y = float(rng.uniform(-0.5, 0.4)), float(rng.uniform(0.35, 0.85))
        note = _FESTIVE[int(rng.integers(len(_FESTIVE)))]
        c.rect(at.p(x, y), at.p(x + 0.1, y + 0.08), look.glow(note))
    c.light(at.p(0.0, 0.62), 0.5 * at.size, np.asarray(look.accent) * 0.3)


def panels(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A grid of square acoustic or glowing wall panels."""
    for row in range(3):
        for col in range(4):
            x, y = -0.9 + col * 0.46, row * 0.34
            tone = look.lit(np.asarray(look.accent) * (0.5 + 0.15 * ((row + col) % 2)) + 0.1, 0.2)
            c.rect(at.p(x, y), at.p(x + 0.42, y + 0.3), tone)


def vase(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A ceramic vase with a sprig of leaves."""
    c.cast(at.p(-0.35, 0.03), at.p(0.35, -0.05), 0.5)
    for k in range(5):
        angle = 1.1 + k * 0.25
        c.line(
            [at.p(0, 0.6), at.p(np.cos(angle) * 0.4, 0.6 + np.sin(angle) * 0.6)],
            look.lit((0.35, 0.5, 0.35)),
            0.02 * at.size,
        )
    body = look.lit(np.asarray(look.accent) * 0.4 + 0.5, 0.3 * look.side)
    c.ellipse(at.p(-0.25, 0.0), at.p(0.25, 0.5), body)
    c.rect(at.p(-0.1, 0.4), at.p(0.1, 0.65), body)


def fruit(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A basket or bowl heaped with round fruit."""
    c.cast(at.p(-0.6, 0.03), at.p(0.6, -0.05), 0.5)
    for _ in range(8):
        dx, dy, r = float(rng.uniform(-0.35, 0.35)), float(rng.uniform(0.3, 0.5)), 0.14
        tone = ((0.85, 0.2, 0.15), (0.95, 0.6, 0.15), (0.6, 0.75, 0.2))[int(rng.integers(3))]
        c.ellipse(at.p(dx - r, dy - r), at.p(dx + r, dy + r), look.lit(tone, dx * 2 * look.side))
    c.polygon(
        [at.p(-0.55, 0.35), at.p(0.55, 0.35), at.p(0.4, 0.0), at.p(-0.4, 0.0)],
        look.lit((0.65, 0.48, 0.28), 0.2),
    )


def eggs(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Pastel eggs lying in a row."""
    for k in range(5):
        dx = (k - 2) * 0.32
        tone = np.asarray(_FESTIVE[k % len(_FESTIVE)]) * 0.5 + 0.45
        c.cast(at.p(dx - 0.15, 0.02), at.p(dx + 0.15, -0.04), 0.4)
        c.ellipse(at.p(dx - 0.13, 0.0), at.p(dx + 0.13, 0.36), look.lit(tone, 0.3 * look.side))


def cake(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A layer cake on a stand with candles."""
    c.cast(at.p(-0.5, 0.03), at.p(0.5, -0.05), 0.5)
    c.rect(at.p(-0.06, 0.0), at.p(0.06, 0.15), look.lit((0.9, 0.9, 0.9)))
    c.rect(at.p(-0.45, 0.15), at.p(0.45, 0.18), look.lit((0.9, 0.9, 0.9)))
    c.rect(at.p(-0.38, 0.18), at.p(0.38, 0.6), look.lit((0.98, 0.9, 0.88), 0.3 * look.side))
    c.rect(at.p(-0.38, 0.36), at.p(0.38, 0.42), look.lit(look.accent))
    for dx in (-0.2, 0.0, 0.2):
        c.rect(at.p(dx - 0.015, 0.6), at.p(dx + 0.015, 0.75), look.lit((0.5, 0.7, 0.95)))
        c.light(at.p(dx, 0.79), 0.05 * at.size, (0.9, 0.7, 0.3))


def balloons(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A bunch of balloons on strings, each with a highlight."""
    for _ in range(5):
        dx, dy = float(rng.uniform(-0.3, 0.3)), float(rng.uniform(0.6, 0.9))
        tone = _FESTIVE[int(rng.integers(len(_FESTIVE)))]
        c.line([at.p(0, 0.0), at.p(dx, dy - 0.12)], (0.7, 0.7, 0.7), 0.002)
        c.ellipse(at.p(dx - 0.12, dy - 0.13), at.p(dx + 0.12, dy + 0.13), look.lit(tone, 0.2))
        c.ellipse(at.p(dx - 0.06, dy + 0.03), at.p(dx - 0.02, dy + 0.08), look.lit((1, 1, 1), 0.5))


def confetti(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Scattered confetti flakes over the whole frame."""
    for _ in range(140):
        x, y = float(rng.uniform(0, 1)), float(rng.uniform(0, 1))
        s = 0.006 * float(rng.uniform(0.6, 1.4))
        tone = look.glow(_FESTIVE[int(rng.integers(len(_FESTIVE)))])
        c.rect((x, y), (x + s / c.aspect * 1.6, y + s), tone)


def fireworks(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A firework burst: rays of sparks from a centre, glowing."""
    tone = look.glow(np.asarray(look.accent) * 0.5 + np.asarray(_GOLD) * 0.5 + 0.1)
    centre = at.p(0.0, 0.5)
    for k in range(18):
        a = k * np.pi / 9 + float(rng.uniform(-0.1, 0.1))
        c.line(
            [
                at.p(np.cos(a) * 0.1, 0.5 + np.sin(a) * 0.1),
                at.p(np.cos(a) * 0.45, 0.5 + np.sin(a) * 0.45),
            ],
            tone,
            0.006 * at.size / 0.3,
        )
    c.light(centre, 0.35 * at.size, tone * 0.5)


def hearts(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A heart: two round lobes over a point."""
    tone = look.glow(np.asarray(look.accent) * 0.6 + np.asarray((0.9, 0.2, 0.35)) * 0.4)
    c.ellipse(at.p(-0.5, 0.45), at.p(0.02, 1.0), tone)
    c.ellipse(at.p(-0.02, 0.45), at.p(0.5, 1.0), tone)
    c.polygon([at.p(-0.48, 0.65), at.p(0.48, 0.65), at.p(0.0, 0.0)], tone)


def bubbles(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Floating soap bubbles: pale discs with a bright rim and highlight."""
    for _ in range(14):
        x, y = float(rng.uniform(0.02, 0.98)), float(rng.uniform(0.05, 0.85))
        r = 0.02 * float(rng.uniform(0.6, 2.2))
        rim = look.glow(np.asarray(look.haze) * 0.3 + 0.7)
        c.ellipse((x - r / c.aspect, y - r), (x + r / c.aspect, y + r), rim)
        inner = look.lit(np.asarray(look.primary) * 0.6 + 0.35)
        c.ellipse(
            (x - r * 0.85 / c.aspect, y - r * 0.85), (x + r * 0.85 / c.aspect, y + r * 0.85), inner
        )
        c.ellipse(
            (x - r * 0.5 / c.aspect, y - r * 0.6),
            (x - r * 0.2 / c.aspect, y - r * 0.3),
            (1.0, 1.0, 1.0),
        )


def umbrella(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A striped beach umbrella on a pole, with a deck chair beneath."""
    c.cast(at.p(-0.7, 0.06), at.p(0.7, -0.08), 0.4)
    c.line([at.p(0.0, 0.0), at.p(0.0, 0.9)], (0.9, 0.9, 0.88), 0.02 * at.size)
    stripes = [look.lit(look.accent, 0.3), look.lit((0.97, 0.96, 0.93), 0.3)]
    for k in range(6):
        a0, a1 = np.pi * k / 6, np.pi * (k + 1) / 6
        c.polygon(
            [
                at.p(0.0, 0.75),
                at.p(np.cos(a0) * 0.6, 0.75 + np.sin(a0) * 0.25),
                at.p(np.cos(a1) * 0.6, 0.75 + np.sin(a1) * 0.25),
            ],
            stripes[k % 2],
        )
    chair = look.lit(np.asarray(look.accent) * 0.6 + 0.3, 0.2)
    c.polygon([at.p(0.2, 0.0), at.p(0.3, 0.35), at.p(0.4, 0.35), at.p(0.3, 0.0)], chair)
    c.rect(at.p(0.3, 0.12), at.p(0.6, 0.17), chair)


def shelves(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Open wall shelves holding jars, boxes and loaves: three boards of mixed goods."""
    board = look.lit(np.asarray(look.secondary) * 0.5 + 0.35, 0.2)
    for k in range(3):
        y = 0.05 + k * 0.33
        c.rect(at.p(-0.9, y), at.p(0.9, y + 0.03), board)
        x = -0.85
        while x < 0.75:
            w = float(rng.uniform(0.08, 0.18))
            tall = float(rng.uniform(0.1, 0.22))
            pick = np.asarray(_FESTIVE[int(rng.integers(len(_FESTIVE)))])
            tone = pick * 0.5 + np.asarray(look.accent) * 0.2 + 0.25
            if rng.random() < 0.5:
                c.ellipse(at.p(x, y + 0.03), at.p(x + w, y + 0.03 + tall), look.lit(tone, 0.2))
            else:
                c.rect(at.p(x, y + 0.03), at.p(x + w, y + 0.03 + tall), look.lit(tone, 0.0))
            x += w + float(rng.uniform(0.02, 0.08))


def toys(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Toys on the floor: stacked building blocks, a ball and a little cart."""
    c.cast(at.p(-0.7, 0.04), at.p(0.7, -0.05), 0.4)
    for k, (dx, dy) in enumerate(((-0.5, 0.0), (-0.3, 0.0), (-0.4, 0.2))):
        tone = _FESTIVE[k % len(_FESTIVE)]
        c.rect(at.p(dx - 0.1, dy), at.p(dx + 0.1, dy + 0.2), look.lit(tone, 0.2 * look.side))
    c.ellipse(at.p(0.05, 0.0), at.p(0.35, 0.3), look.lit(_FESTIVE[2], 0.3 * look.side))
    c.rect(at.p(0.4, 0.06), at.p(0.7, 0.2), look.lit(_FESTIVE[1], 0.0))
    for wx in (0.45, 0.65):
        c.ellipse(at.p(wx - 0.04, 0.0), at.p(wx + 0.04, 0.08), look.lit((0.15, 0.15, 0.15)))


def sports(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Gym kit on the floor: a rolled-out yoga mat and a pair of dumbbells."""
    mat = [at.p(-1.0, 0.0), at.p(0.4, 0.0), at.p(0.3, 0.12), at.p(-0.9, 0.12)]
    c.polygon(mat, look.lit(np.asarray(look.accent) * 0.6 + 0.25, 0.0))
    iron = look.lit((0.18, 0.18, 0.2), 0.2)
    for dx in (0.55, 0.85):
        c.rect(at.p(dx - 0.1, 0.06), at.p(dx + 0.1, 0.1), iron)
        c.rect(at.p(dx - 0.13, 0.0), at.p(dx - 0.07, 0.16), iron)
        c.rect(at.p(dx + 0.07, 0.0), at.p(dx + 0.13, 0.16), iron)


def blinds(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Sun through window blinds: slanted bars of light across the wall."""
    for k in range(9):
        y0 = 0.1 + k * 0.1
        c.polygon(
            [at.p(-0.9, y0), at.p(0.6, y0 + 0.25), at.p(0.6, y0 + 0.29), at.p(-0.9, y0 + 0.04)],
            look.lit(np.asarray(look.primary) * 0.6 + np.asarray(look.key) * 0.45, 0.8),
        )


def crosswalk(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """Zebra stripes across the road in front, converging in perspective."""
    paint = look.lit((0.92, 0.92, 0.9), 0.3)
    for k in range(7):
        x0 = (k - 3) * 0.16
        c.polygon(
            [
                at.p(x0 * 2.2, -0.6),
                at.p(x0 * 2.2 + 0.16, -0.6),
                at.p(x0 + 0.06, 0.0),
                at.p(x0, 0.0),
            ],
            paint,
        )


def racks(c: Canvas, at: Placement, look: Look, rng: Rng) -> None:
    """A server rack: a tall dark cabinet of stacked units, each with blinking status lights."""
    c.rect(at.p(-0.22, 0.0), at.p(0.22, 1.0), look.lit((0.1, 0.11, 0.13), 0.2 * look.side))
    led = [look.glow(np.asarray(look.accent) * 0.6 + 0.4), look.glow((0.3, 1.0, 0.45))]
    for k in range(14):
        y = 0.04 + k * 0.068
        c.rect(at.p(-0.19, y), at.p(0.19, y + 0.055), look.lit((0.2, 0.21, 0.24), 0.1))
        for j in range(3):
            if rng.random() < 0.7:
                x = 0.08 + j * 0.035
                c.rect(at.p(x, y + 0.02), at.p(x + 0.015, y + 0.035), led[int(rng.integers(2))])
