"""Where the subject goes on the canvas: the canvas size, padding and margin, alignment, scaling.

Types only here: the contract between the routes that parse a client's layout fields
(LightX, remove.bg, Photoroom, the CLI) and the imaging stage that applies them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

HorizontalAlignment = Literal["left", "center", "right"]
VerticalAlignment = Literal["top", "center", "bottom"]
# fit: the subject (with padding) fits inside the canvas; fill: it covers the canvas.
Scaling = Literal["fit", "fill"]
# What is placed: the subject's box, or the whole original image (Photoroom's referenceBox).
ReferenceBox = Literal["subject", "original"]
# The canvas: an exact size, the input image's size, or the subject's box (plus margins).
CanvasKind = Literal["size", "original", "subject"]


@dataclass(frozen=True)
class Length:
    """A padding or margin on one side: a fraction of the canvas side, or pixels."""

    value: float = 0.0
    unit: Literal["fraction", "px"] = "fraction"


@dataclass(frozen=True)
class Sides:
    top: Length = Length()
    right: Length = Length()
    bottom: Length = Length()
    left: Length = Length()

    @classmethod
    def all(cls, length: Length) -> Sides:
        return cls(length, length, length, length)


@dataclass(frozen=True)
class Layout:
    canvas: CanvasKind = "original"
    size: tuple[int, int] | None = None  # (width, height) when canvas == "size"
    max_width: int | None = None
    max_height: int | None = None
    padding: Sides = field(default_factory=Sides)
    margin: Sides = field(default_factory=Sides)
    scaling: Scaling = "fit"
    reference: ReferenceBox = "subject"
    horizontal: HorizontalAlignment = "center"
    vertical: VerticalAlignment = "center"
    # remove.bg's `position`: the subject box's centre at these fractions of the canvas
    # (overrides the alignments); None: by alignment.
    position: tuple[float, float] | None = None
    # remove.bg's `scale`: the subject's long side as a fraction of the canvas's (0.1..1);
    # None: by scaling + padding.
    scale: float | None = None
    # Never enlarge the subject past this factor of its size in the input.
    max_upscale: float = 1.0


def layout_from_params(data: dict[str, Any]) -> Layout:
    """The layout `dataclasses.asdict` stored in an order's params (tuples come back as lists)."""
    values = dict(data)
    for name in ("padding", "margin"):
        if name in values:
            values[name] = Sides(**{side: Length(**v) for side, v in values[name].items()})
    for name in ("size", "position"):
        if values.get(name) is not None:
            values[name] = tuple(values[name])
    return Layout(**values)
