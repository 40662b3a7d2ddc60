"""Where the subject goes on the canvas: the canvas size, padding and margin, alignment, scaling.

The types are the contract between the routes that parse a client's layout fields (LightX,
remove.bg, Photoroom, the CLI) and the stage that applies them: `plan` says where things go
(pure geometry, tested on its own), imaging/staging.py draws it.
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
    """A padding or margin on one side: a fraction of the canvas side, pixels, or a fraction
    of the subject box's side in the same direction (remove.bg's crop_margin in %)."""

    value: float = 0.0
    unit: Literal["fraction", "px", "subject"] = "fraction"

    def pixels(self, canvas_side: float, subject_side: float) -> float:
        if self.unit == "px":
            return self.value
        if self.unit == "subject":
            return self.value * subject_side
        return self.value * canvas_side


@dataclass(frozen=True)
class Region:
    """A rectangle of the input (remove.bg's roi): fractions of its width and height, or px."""

    left: Length
    top: Length
    right: Length
    bottom: Length

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) in pixels, clamped to the image."""
        left = round(self.left.pixels(width, width))
        top = round(self.top.pixels(height, height))
        right = round(self.right.pixels(width, width))
        bottom = round(self.bottom.pixels(height, height))
        return (
            min(max(left, 0), width),
            min(max(top, 0), height),
            min(max(right, 0), width),
            min(max(bottom, 0), height),
        )

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> Region:
        return cls(**{side: Length(**value) for side, value in data.items()})


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
    # remove.bg's `position`, as CSS's background-position: 0 puts the subject's box at the
    # left (top) edge of the canvas, 0.5 in the middle, 1 at the right (bottom); it overrides
    # the alignments. None: by alignment.
    position: tuple[float, float] | None = None
    # remove.bg's `scale`: the subject's long side as a fraction of the canvas's (0.1..1);
    # None: by scaling + padding.
    scale: float | None = None
    # Never enlarge the subject past this factor of its size in the input.
    max_upscale: float = 1.0
    # remove.bg's position=original with a scale: the box keeps its centre where it was.
    keep_place: bool = False


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


# Marketplace and shop presets: one table, named as the client names them (--canvas, the page).
# A preset may enlarge a small photo up to twice its size to fill the marketplace's frame.
_UP = 2.0
PRESETS: dict[str, Layout] = {
    # Square on white with 8% padding: the common "packshot" for shops and marketplaces.
    "square-white": Layout(
        canvas="size", size=(2000, 2000), padding=Sides.all(Length(0.08)), max_upscale=_UP
    ),
    # Amazon's main image: 2000 px square, the product filling ~85% of the frame.
    "amazon": Layout(
        canvas="size", size=(2000, 2000), padding=Sides.all(Length(0.075)), max_upscale=_UP
    ),
    # eBay: 1600 px square, a little air around the item.
    "ebay": Layout(
        canvas="size", size=(1600, 1600), padding=Sides.all(Length(0.05)), max_upscale=_UP
    ),
    # Etsy's listing thumbnail ratio 4:3 at 2000 px wide.
    "etsy": Layout(
        canvas="size", size=(2000, 1500), padding=Sides.all(Length(0.08)), max_upscale=_UP
    ),
    # Shopify's recommended square product image.
    "shopify": Layout(
        canvas="size", size=(2048, 2048), padding=Sides.all(Length(0.06)), max_upscale=_UP
    ),
    # Instagram portrait post (4:5).
    "instagram": Layout(
        canvas="size", size=(1080, 1350), padding=Sides.all(Length(0.1)), max_upscale=_UP
    ),
    # Zalando-style fashion portrait (2:3), subject standing on the bottom margin.
    "portrait": Layout(
        canvas="size",
        size=(1600, 2400),
        padding=Sides(Length(0.06), Length(0.08), Length(0.04), Length(0.08)),
        vertical="bottom",
        max_upscale=_UP,
    ),
    # The subject's box and a small margin, at its own size.
    "tight": Layout(canvas="subject", padding=Sides.all(Length(0.04))),
}
# The background a preset implies (the route may override it): white for marketplaces.
PRESET_BACKGROUNDS: dict[str, str] = {
    "square-white": "ffffff",
    "amazon": "ffffff",
    "ebay": "ffffff",
    "etsy": "ffffff",
    "shopify": "ffffff",
}


def preset(name: str) -> Layout:
    """The layout a preset name stands for; ValueError naming the presets when unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown layout preset {name!r}; use one of {', '.join(PRESETS)}"
        ) from None


@dataclass(frozen=True)
class Placement:
    """Where the layout puts things: a canvas of `canvas` pixels, onto which the input's
    region `source` (left, top, right, bottom) is drawn scaled by `scale` with its top-left
    corner at `offset`."""

    canvas: tuple[int, int]
    source: tuple[int, int, int, int]
    scale: float
    offset: tuple[int, int]

    @property
    def identity(self) -> bool:
        width, height = self.canvas
        return self.source == (0, 0, width, height) and self.scale == 1.0 and self.offset == (0, 0)

    @property
    def placed_box(self) -> tuple[int, int, int, int]:
        """The source region's box on the canvas (may run past its edges)."""
        left, top, right, bottom = self.source
        x, y = self.offset
        return x, y, x + round((right - left) * self.scale), y + round((bottom - top) * self.scale)


def _absolute(sides: Sides, box_w: int, box_h: int) -> Sides:
    """`sides` with lengths relative to the subject's box made pixels."""

    def one(length: Length, side: int) -> Length:
        return Length(length.value * side, "px") if length.unit == "subject" else length

    return Sides(
        one(sides.top, box_h), one(sides.right, box_w), one(sides.bottom, box_h),
        one(sides.left, box_w),
    )  # fmt: skip


def _px(length: Length, side: int) -> float:
    return length.value * side if length.unit == "fraction" else length.value


def _fraction(length: Length) -> float:
    return length.value if length.unit == "fraction" else 0.0


def _pixels(length: Length) -> float:
    return length.value if length.unit == "px" else 0.0


def plan(
    image_size: tuple[int, int],
    subject: tuple[int, int, int, int] | None,
    layout: Layout,
    max_pixels: int | None = None,
) -> Placement:
    """Where `layout` puts an input of `image_size` whose subject's box is `subject` (None:
    no subject found, the whole image stands for it).

    Raises ValueError when the canvas would be empty or over `max_pixels`.
    """
    width, height = image_size
    whole = (0, 0, width, height)
    source = subject if layout.reference == "subject" and subject is not None else whole
    left, top, right, bottom = source
    box_w, box_h = max(right - left, 1), max(bottom - top, 1)
    pad = _absolute(layout.padding, box_w, box_h)
    margin = _absolute(layout.margin, box_w, box_h)
    if layout.canvas == "size":
        if layout.size is None:
            raise ValueError("a canvas of kind 'size' needs a size")
        canvas_w, canvas_h = layout.size
    elif layout.canvas == "original":
        canvas_w, canvas_h = width, height
    else:
        # The subject's box at its size, grown so the paddings and margins fit around it:
        # fractions are of the canvas being made, so the box is 1 - (their sum) of it.
        def grown(inner: int, near: Length, far: Length, near_m: Length, far_m: Length) -> int:
            fractions = sum(_fraction(x) for x in (near, far, near_m, far_m))
            pixels = sum(_pixels(x) for x in (near, far, near_m, far_m))
            return max(1, round((inner + pixels) / max(1.0 - fractions, 0.02)))

        canvas_w = grown(box_w, pad.left, pad.right, margin.left, margin.right)
        canvas_h = grown(box_h, pad.top, pad.bottom, margin.top, margin.bottom)
    # maxWidth / maxHeight: the whole canvas shrinks, layout and all (paddings are laid out
    # on the canvas at its final size, so fractions keep their meaning).
    shrink = 1.0
    if layout.max_width is not None and canvas_w > layout.max_width:
        shrink = min(shrink, layout.max_width / canvas_w)
    if layout.max_height is not None and canvas_h > layout.max_height:
        shrink = min(shrink, layout.max_height / canvas_h)
    if shrink < 1.0:
        canvas_w, canvas_h = max(1, round(canvas_w * shrink)), max(1, round(canvas_h * shrink))
    if canvas_w < 1 or canvas_h < 1:
        raise ValueError("the canvas must be at least 1 pixel wide and high")
    if max_pixels is not None and canvas_w * canvas_h > max_pixels:
        raise ValueError(
            f"a canvas of {canvas_w}x{canvas_h} is {canvas_w * canvas_h / 1e6:.1f} MP, over "
            f"this server's limit of {max_pixels / 1e6:.0f} MP; ask for a smaller size"
        )
    # Margins always hold; padding is the subject's breathing room, dropped when filling.
    m_left, m_right = _px(margin.left, canvas_w), _px(margin.right, canvas_w)
    m_top, m_bottom = _px(margin.top, canvas_h), _px(margin.bottom, canvas_h)
    p_left, p_right = _px(pad.left, canvas_w), _px(pad.right, canvas_w)
    p_top, p_bottom = _px(pad.top, canvas_h), _px(pad.bottom, canvas_h)
    if layout.scaling == "fill":
        p_left = p_right = p_top = p_bottom = 0.0
    area_left, area_top = m_left + p_left, m_top + p_top
    area_w = max(canvas_w - area_left - m_right - p_right, 1.0)
    area_h = max(canvas_h - area_top - m_bottom - p_bottom, 1.0)
    if layout.scale is not None:
        # remove.bg's scale: the subject's size relative to the canvas (1: just fits).
        scale = layout.scale * min(canvas_w / box_w, canvas_h / box_h)
    elif layout.canvas == "subject":
        scale = shrink
    elif layout.scaling == "fill":
        scale = max(area_w / box_w, area_h / box_h)
    else:
        scale = min(area_w / box_w, area_h / box_h)
    # The limit holds for the layout before maxWidth/maxHeight shrink it, so a shrunk result
    # (a preview) is the full one made smaller.
    scale = min(scale, layout.max_upscale * shrink)
    placed_w, placed_h = box_w * scale, box_h * scale
    if layout.keep_place and layout.canvas == "original":
        # remove.bg's position=original with a scale: the box keeps its centre.
        x = (left + right) / 2 * canvas_w / width - placed_w / 2
        y = (top + bottom) / 2 * canvas_h / height - placed_h / 2
    elif layout.position is not None:
        # As CSS's background-position: 0 puts the box at the left (top) edge, 1 at the right.
        x = layout.position[0] * (canvas_w - placed_w)
        y = layout.position[1] * (canvas_h - placed_h)
    else:
        x = _align(layout.horizontal, area_left, area_w, placed_w)
        y = _align(layout.vertical, area_top, area_h, placed_h)
    return Placement((canvas_w, canvas_h), source, scale, (round(x), round(y)))


def _align(where: str, start: float, room: float, size: float) -> float:
    if where in ("left", "top"):
        return start
    if where in ("right", "bottom"):
        return start + room - size
    return start + (room - size) / 2
