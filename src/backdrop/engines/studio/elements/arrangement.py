"""Placing the recipe's elements into a painted setting: each layer has its slots, the subject's
place is kept clear for things beside it, and indoors the far view is seen through a window."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.elements import ELEMENTS, ElementSpec, Layer, built
from backdrop.engines.studio.elements.canvas import Canvas, Look, Placement
from backdrop.engines.studio.layers import F, rgb
from backdrop.engines.studio.lighting import key_color, sky_colors
from backdrop.engines.studio.recipe import Element, Recipe, SceneKind, Setting
from backdrop.engines.studio.stage import Stage

INDOOR = frozenset({Setting.STUDIO, Setting.TABLETOP, Setting.INTERIOR})

# What a scene variant already paints: naming it again changes nothing (and is not "unused").
PAINTED_BY_SCENE: dict[SceneKind, frozenset[Element]] = {
    SceneKind.MOUNTAINS: frozenset({Element.MOUNTAINS}),
    SceneKind.SKYLINE: frozenset({Element.SKYLINE}),
    SceneKind.FOREST: frozenset({Element.PINES}),
    SceneKind.HALLOWEEN: frozenset({Element.TREES}),
    SceneKind.PARK: frozenset({Element.TREES}),
    SceneKind.LAKE: frozenset({Element.WATER, Element.HILLS}),
    SceneKind.BEACH: frozenset({Element.WATER}),
    SceneKind.FIELD: frozenset({Element.FLOWERS}),
    SceneKind.LIVING_ROOM: frozenset({Element.SOFA}),
    SceneKind.KITCHEN: frozenset({Element.WINDOW}),
    SceneKind.WINDOW: frozenset({Element.WINDOW}),
}


def drawn_elements(recipe: Recipe) -> tuple[Element, ...]:
    """The recipe's elements that the composer draws (not already part of the scene)."""
    own = PAINTED_BY_SCENE.get(recipe.scene, frozenset())
    return tuple(e for e in recipe.elements if e not in own)


def look_for(recipe: Recipe) -> Look:
    light = recipe.light
    _, haze = sky_colors(light, rgb(recipe.palette.primary))
    return Look(
        primary=rgb(recipe.palette.primary),
        secondary=rgb(recipe.palette.secondary),
        accent=rgb(recipe.palette.accent),
        haze=haze,
        side=-1.0 if light.direction < 0 else 1.0,
        key=key_color(light),
        brightness=light.brightness,
        night=light.time_of_day in ("night", "dusk"),
    )


def compose(recipe: Recipe, stage: Stage, image: F) -> tuple[F, F]:
    """`image` (the painted setting) with the recipe's elements drawn into it, and where
    they cover it (h, w, 0..1)."""
    elements = drawn_elements(recipe)
    if not elements:
        return image, np.zeros(image.shape[:2], dtype=np.float32)
    look = look_for(recipe)
    indoor = recipe.setting in INDOOR
    by_layer: dict[Layer, list[Element]] = {}
    for element in elements:
        layer = ELEMENTS[element].layer
        by_layer.setdefault(layer, []).append(element)
    far = by_layer.pop(Layer.FAR, [])
    if indoor and far and Element.WINDOW not in by_layer.get(Layer.WALL, []):
        by_layer.setdefault(Layer.WALL, []).insert(0, Element.WINDOW)
    canvas = Canvas(stage.width, stage.height)
    if not indoor:
        _far(canvas, stage, look, far, stage.horizon)
    for layer in (Layer.WALL, Layer.SKY, Layer.GROUND, Layer.TABLE, Layer.OVERLAY):
        placer = _PLACERS[layer]
        placer(canvas, stage, look, by_layer.get(layer, []), far if indoor else [])
    cover = np.asarray(canvas.cover, dtype=np.float32) / 255.0
    return canvas.over(image), cover


def _draw(
    canvas: Canvas, element: Element, at: Placement, look: Look, stage: Stage, k: int
) -> None:
    ELEMENTS[element].draw(canvas, at, look, stage.rng(f"{element}:{k}"))


def _far(canvas: Canvas, stage: Stage, look: Look, elements: list[Element], horizon: float) -> None:
    """Far things on the horizon: ranges and skylines across, single things to one side."""
    rng = stage.rng("far")
    for k, element in enumerate(elements):
        spec = ELEMENTS[element]
        size = spec.size * horizon
        if element is Element.WATER:
            at = Placement(0.5, horizon - size * 0.4, size, stage.aspect, 0.3)
        elif element is Element.CROSSWALK:
            y = horizon + (stage.base - horizon) * 0.3
            at = Placement(stage.center, y, (1.0 - y) * 0.8, stage.aspect)
        elif element is Element.PATH:
            at = Placement(stage.center, horizon, size, stage.aspect)
        elif spec.width * size / stage.aspect > 0.5 or element in (
            Element.MOUNTAINS,
            Element.HILLS,
        ):
            at = Placement(0.5, horizon + 0.003, size, stage.aspect, 0.35)
        else:
            side = -1.0 if (k + int(rng.integers(2))) % 2 else 1.0
            half = spec.width * size / stage.aspect / 2
            x = stage.center + side * float(rng.uniform(0.22, 0.32))
            x = float(np.clip(x, half, 1.0 - half))
            at = Placement(x, horizon + 0.004, size, stage.aspect, 0.2)
        for n in range(spec.count):
            # Each further one a little smaller, a third of the frame along.
            shifted = Placement(
                (at.x + n * 0.3) % 1.0, at.y, at.size * (1 - 0.3 * n), at.aspect, at.distance
            )
            _draw(canvas, element, shifted, look, stage, k * 10 + n)


def _spread(count: int, rng: np.random.Generator) -> list[float]:
    """`count` positions across the frame, evenly, with a little jitter."""
    return [((i + 0.5) / count + float(rng.uniform(-0.04, 0.04))) for i in range(count)]


def _wall(
    canvas: Canvas, stage: Stage, look: Look, elements: list[Element], view: list[Element]
) -> None:
    """Things against the back: windows (with the far view), shelves, columns, paintings."""
    h = stage.horizon
    rng = stage.rng("wall")
    for k, element in enumerate(elements):
        spec = ELEMENTS[element]
        size = spec.size * h
        count = spec.count if len(elements) < 3 else max(1, spec.count // 2)
        xs = _spread(count, rng)
        if count == 1 or len(elements) > 1:
            # Shared walls: each kind gets its own part of the wall, alternating sides.
            offset = (k + 0.5) / len(elements) - 0.5
            xs = [float(np.clip(x * 0.5 + 0.25 + offset * 0.8, 0.08, 0.92)) for x in xs]
        y = h
        if element in (Element.PAINTINGS, Element.CLOCK, Element.PANELS):
            y = h * 0.62
        elif element is Element.PAINT_SPLASHES:
            y = h * 0.85
        elif element is Element.WINDOW:
            y = h - 0.04
        for n, x in enumerate(xs):
            at = Placement(x, y, size, stage.aspect)
            _draw(canvas, element, at, look, stage, k * 10 + n)
            if element is Element.WINDOW and view:
                _view(canvas, stage, look, at, view)


def _view(canvas: Canvas, stage: Stage, look: Look, window: Placement, view: list[Element]) -> None:
    """The far elements seen through a window's pane."""
    (x0, y0), (x1, y1) = built.window_pane(window)
    inside = Canvas(stage.width, stage.height)
    horizon = y0 + (y1 - y0) * 0.72
    sub = Stage(stage.width, stage.height, horizon, y1, x0, x1, y0, stage.seed)
    for k, element in enumerate(view):
        spec = ELEMENTS[element]
        size = spec.size * (horizon - y0) * 1.3
        at = Placement((x0 + x1) / 2, horizon, size, stage.aspect, 0.2)
        if element is Element.WATER:
            at = Placement(0.5, horizon, y1 - horizon, stage.aspect, 0.2)
        _draw(inside, element, at, look, sub, k)
    canvas.merge(inside, (x0, y0), (x1, y1))
    built.window_bars(canvas, window, look)


def _side_slots(stage: Stage, widths: list[float]) -> list[float]:
    """Centres beside the subject, alternating left and right, moving outwards."""
    gap = 0.03
    left_edge, right_edge = stage.left - gap, stage.right + gap
    xs = []
    for k, w in enumerate(widths):
        if k % 2 == 0:
            xs.append(left_edge - w / 2)
            left_edge -= w + gap
        else:
            xs.append(right_edge + w / 2)
            right_edge += w + gap
    return xs


def _ground(
    canvas: Canvas, stage: Stage, look: Look, elements: list[Element], _: list[Element]
) -> None:
    """Things standing on the floor beside the subject, sized by the subject, far ones first.

    What fits beside the subject stands there; what is wider (a bed, a table, a sofa) stands
    further back on the roomier side, partly behind the subject, as in a real room."""
    subject = max(stage.base - stage.top, 0.1)
    items: list[tuple[Element, int, ElementSpec]] = []
    for element in elements:
        spec = ELEMENTS[element]
        items.extend((element, n, spec) for n in range(spec.count if len(elements) < 3 else 1))
    room = max(stage.left, 1.0 - stage.right) - 0.03
    near: list[tuple[Element, int, ElementSpec]] = []
    back: list[tuple[Element, int, ElementSpec]] = []
    for item in items:
        width = item[2].width * item[2].size * subject / stage.aspect
        (back if width > room else near).append(item)
    roomy = -1.0 if stage.left > 1.0 - stage.right else 1.0
    for k, (element, n, spec) in enumerate(back):
        scale = 0.85
        y = stage.horizon + (stage.base - stage.horizon) * 0.3
        width = spec.width * spec.size * subject * scale / stage.aspect
        # Mostly clear of the subject: a third of it may stand behind.
        x = stage.center + roomy * (-1) ** k * ((stage.right - stage.left) / 2 + width * 0.35)
        at = Placement(
            float(np.clip(x, width * 0.35, 1 - width * 0.35)),
            y,
            spec.size * subject * scale,
            stage.aspect,
        )
        _draw(canvas, element, at, look, stage, n)
    depth = [1.0 if (i // 2) % 2 == 0 else 0.7 for i in range(len(near))]
    widths = [
        spec.width * spec.size * subject * d / stage.aspect
        for (_, _, spec), d in zip(near, depth, strict=True)
    ]
    xs = _side_slots(stage, widths)
    for i in sorted(range(len(near)), key=lambda i: depth[i]):
        element, n, spec = near[i]
        y = stage.horizon + (stage.base - stage.horizon) * (0.35 + 0.6 * depth[i])
        at = Placement(xs[i], y, spec.size * subject * depth[i], stage.aspect)
        _draw(canvas, element, at, look, stage, n)


def _table(
    canvas: Canvas, stage: Stage, look: Look, elements: list[Element], _: list[Element]
) -> None:
    """Props on the surface right beside the subject, at its base."""
    subject = max(stage.base - stage.top, 0.1)
    widths = [ELEMENTS[e].width * ELEMENTS[e].size * subject / stage.aspect for e in elements]
    xs = _side_slots(stage, widths)
    for k, element in enumerate(elements):
        spec = ELEMENTS[element]
        at = Placement(xs[k], min(stage.base + 0.01, 0.99), spec.size * subject, stage.aspect)
        _draw(canvas, element, at, look, stage, k)


def _sky(
    canvas: Canvas, stage: Stage, look: Look, elements: list[Element], _: list[Element]
) -> None:
    """Things up high: hanging lamps and lanterns from the top, balloons, fireworks, hearts."""
    h = stage.horizon
    rng = stage.rng("sky")
    for k, element in enumerate(elements):
        spec = ELEMENTS[element]
        size = spec.size * h
        for n, x in enumerate(_spread(spec.count, rng)):
            if element in (Element.PENDANT_LAMPS, Element.LANTERNS):
                y = size * float(rng.uniform(0.8, 1.1))
            elif element is Element.BALLOONS:
                x = stage.left - 0.1 if n % 2 == 0 else stage.right + 0.1
                y = h + 0.02
            else:
                y = float(rng.uniform(0.15, 0.55)) * h + size
            _draw(canvas, element, Placement(x, y, size, stage.aspect), look, stage, k * 10 + n)


def _overlay(
    canvas: Canvas, stage: Stage, look: Look, elements: list[Element], _: list[Element]
) -> None:
    for k, element in enumerate(elements):
        _draw(canvas, element, Placement(0.5, 1.0, 1.0, stage.aspect), look, stage, k)


_PLACERS = {
    Layer.WALL: _wall,
    Layer.SKY: _sky,
    Layer.GROUND: _ground,
    Layer.TABLE: _table,
    Layer.OVERLAY: _overlay,
}
