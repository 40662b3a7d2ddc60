"""Layouts as people write them: `--canvas 2000x2000`, `--padding 8%`, `--align bottom`.

One reading for the CLI, the LightX extras and the page, so the same words mean the same
layout everywhere. Every reader raises ValueError with a sentence naming what was wrong.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from typing import Literal, get_args

from backdrop.imaging.layout import (
    PRESET_BACKGROUNDS,
    PRESETS,
    HorizontalAlignment,
    Layout,
    Length,
    Sides,
    VerticalAlignment,
)

# ASCII digits only: Python's `\d` (and int, float) also read other scripts' digits, which
# the API's schema (api/schemas.py, ECMA-262's `\d`) does not name.
_SIZE = re.compile(r"^([0-9]{1,5})\s*[xX\u00d7]\s*([0-9]{1,5})$")
_LENGTH = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(px|%)?$")
# A canvas a person names may enlarge a small photo up to twice its size to fill it (as the
# presets do); beyond that the enlargement shows.
CANVAS_UPSCALE = 2.0
# Padding on one side: below half the canvas, or nothing would be left for the subject.
MAX_PADDING_FRACTION = Decimal("0.49")
Alignment = Literal[
    "center", "top", "bottom", "left", "right",
    "top-left", "top-right", "bottom-left", "bottom-right",
]  # fmt: skip
ALIGNMENTS: tuple[str, ...] = get_args(Alignment)


def canvas(text: str) -> Layout:
    """ "2000x2000", "original", "subject" or a preset name (layout.PRESETS)."""
    name = text.strip().lower()
    if name in PRESETS:
        return PRESETS[name]
    if name == "original":
        return Layout(canvas="original", max_upscale=CANVAS_UPSCALE)
    if name == "subject":
        return Layout(canvas="subject")
    match = _SIZE.match(name)
    if match is None:
        raise ValueError(
            f"canvas {text!r}: give WIDTHxHEIGHT (e.g. 2000x2000), original, subject or a "
            f"preset: {', '.join(PRESETS)}"
        )
    width, height = int(match.group(1)), int(match.group(2))
    if width < 1 or height < 1:
        raise ValueError(f"canvas {text!r}: width and height are at least 1 pixel")
    return Layout(canvas="size", size=(width, height), max_upscale=CANVAS_UPSCALE)


def sides(text: str, name: str = "padding") -> Sides:
    """1, 2 (top/bottom, left/right) or 4 (top, right, bottom, left) lengths, as in CSS:
    "8%", "0.08" (a fraction of the canvas side) or "40px" / "40" (pixels)."""
    parts = text.replace(",", " ").split()
    if len(parts) not in (1, 2, 4):
        raise ValueError(f"{name} {text!r}: give 1, 2 or 4 values")
    lengths = [_length(part, name) for part in parts]
    if len(lengths) == 1:
        return Sides.all(lengths[0])
    if len(lengths) == 2:
        return Sides(lengths[0], lengths[1], lengths[0], lengths[1])
    return Sides(*lengths)


def _length(part: str, name: str) -> Length:
    match = _LENGTH.match(part.strip().lower())
    if match is None:
        raise ValueError(f"{name} {part!r}: give a percentage (8%), a fraction (0.08) or pixels")
    # Compared as written (Decimal), not as the nearest float, so that the limits are exactly
    # the ones the API's schema states: 0.4900000000000000001 is over, as 49.0000000001% is.
    number, unit = Decimal(match.group(1)), match.group(2)
    if unit == "px" or (unit is None and number >= 1):
        return Length(float(number), "px")
    limit = MAX_PADDING_FRACTION * 100 if unit == "%" else MAX_PADDING_FRACTION
    if number > limit:
        raise ValueError(f"{name} {part!r}: at most 49% of the canvas on a side")
    return Length(float(number / 100) if unit == "%" else float(number))


def alignment(text: str) -> tuple[HorizontalAlignment, VerticalAlignment]:
    """ "center", "bottom", "top-left", ...: where the subject sits in the padded area."""
    name = text.strip().lower()
    if name not in ALIGNMENTS:
        raise ValueError(f"align {text!r}: use one of {', '.join(ALIGNMENTS)}")
    horizontal: HorizontalAlignment = "center"
    vertical: VerticalAlignment = "center"
    for word in name.split("-"):
        if word in ("left", "right"):
            horizontal = "left" if word == "left" else "right"
        elif word in ("top", "bottom"):
            vertical = "top" if word == "top" else "bottom"
    return horizontal, vertical


def layout_from_text(
    canvas_text: str | None = None, padding: str | None = None, align: str | None = None
) -> Layout | None:
    """The layout the three options describe together; None when none is given. Padding or
    alignment alone lay the subject out on the input's own canvas."""
    if canvas_text is None and padding is None and align is None:
        return None
    layout = canvas(canvas_text) if canvas_text is not None else canvas("original")
    if padding is not None:
        layout = replace(layout, padding=sides(padding))
    if align is not None:
        horizontal, vertical = alignment(align)
        layout = replace(layout, horizontal=horizontal, vertical=vertical)
    return layout


def preset_background(canvas_text: str | None) -> str | None:
    """The background colour a preset implies (white for marketplaces), or None."""
    if canvas_text is None:
        return None
    return PRESET_BACKGROUNDS.get(canvas_text.strip().lower())
