"""Rooms: a wall with windows, furniture and lights behind, a floor in perspective in front."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from backdrop.engines.studio.layers import (
    F,
    blend,
    bokeh,
    disc_layer,
    grid,
    radial,
    rgb,
    screen,
    smoothstep,
)
from backdrop.engines.studio.materials import Textures, texture
from backdrop.engines.studio.palette import mix
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import floor_depth, material_color, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    image = room_wall(recipe, stage, textures)
    floor, mask = surface(
        stage,
        recipe,
        material_color(recipe, rgb(recipe.palette.secondary)),
        textures,
        haze=rgb(recipe.palette.primary) * 0.8,
    )
    image = blend(image, floor, mask)
    image = room_lights(recipe, stage, image)
    depth = np.maximum(floor_depth(stage) * mask, 1.0 - mask)
    return Scene(image, depth.astype(np.float32))


def wall_texture(stage: Stage, material: str, color: F, textures: Textures) -> F:
    x, y = grid(stage.width, stage.height)
    u = np.broadcast_to(x * stage.aspect * 2.5, (stage.height, stage.width)).astype(np.float32)
    v = np.broadcast_to(y * 2.5, (stage.height, stage.width)).astype(np.float32)
    return texture(material, u, v, color, textures)


def _shapes(
    stage: Stage, shapes: list[tuple[str, tuple[float, float, float, float], F]]
) -> tuple[F, F]:
    """Rectangles, ellipses and frames (kind, box as fractions, colour) drawn flat:
    (colour, coverage). A frame is a rectangle's outline, about 0.5% of the width thick."""
    color = Image.new("RGB", (stage.width, stage.height))
    cover = Image.new("L", (stage.width, stage.height))
    paint, ink = ImageDraw.Draw(color), ImageDraw.Draw(cover)
    line = max(1, round(stage.width * 0.005))
    for kind, (a, b, c, d), fill in shapes:
        x0, x1, y0, y1 = min(a, c), max(a, c), min(b, d), max(b, d)
        box = (x0 * stage.width, y0 * stage.height, x1 * stage.width, y1 * stage.height)
        rgb8 = tuple(int(c * 255) for c in np.clip(fill, 0, 1))
        if kind == "frame":
            paint.rectangle(box, outline=rgb8, width=line)
            ink.rectangle(box, outline=255, width=line)
        elif kind == "ellipse":
            paint.ellipse(box, fill=rgb8)
            ink.ellipse(box, fill=255)
        else:
            paint.rectangle(box, fill=rgb8)
            ink.rectangle(box, fill=255)
    return np.asarray(color, dtype=np.float32) / 255.0, np.asarray(cover, dtype=np.float32) / 255.0


def room_wall(recipe: Recipe, stage: Stage, textures: Textures) -> F:
    """The back wall of the room and what stands against it, by scene."""
    wall = rgb(recipe.palette.primary)
    accent = rgb(recipe.palette.accent)
    material = (
        "tiles"
        if recipe.scene is SceneKind.SHELF
        else ("concrete" if recipe.scene is SceneKind.LOFT else "plaster")
    )
    image = wall_texture(stage, material, wall, textures)
    h = stage.horizon
    side = -1.0 if recipe.light.direction < 0 else 1.0
    win_x = 0.5 + side * 0.32
    shapes: list[tuple[str, tuple[float, float, float, float], F]] = []
    scene = recipe.scene
    if Feature.WINDOW_LIGHT in recipe.features or scene in (
        SceneKind.KITCHEN,
        SceneKind.WINDOW,
        SceneKind.LOFT,
        SceneKind.LIVING_ROOM,
    ):
        pane = np.clip(rgb(mix(recipe.palette.primary, (255, 255, 255), 0.85)) * 1.08, 0, 1).astype(
            np.float32
        )
        shapes.append(("rect", (win_x - 0.16, 0.04, win_x + 0.16, h - 0.12), pane))
        if scene is SceneKind.LOFT:
            frame = wall * 0.25
            for k in range(1, 4):
                shapes.append(
                    (
                        "rect",
                        (
                            win_x - 0.16 + k * 0.08 - 0.004,
                            0.04,
                            win_x - 0.16 + k * 0.08 + 0.004,
                            h - 0.12,
                        ),
                        frame,
                    )
                )
            shapes.append(("rect", (win_x - 0.16, h * 0.4, win_x + 0.16, h * 0.4 + 0.008), frame))
    if scene in (SceneKind.KITCHEN, SceneKind.WINDOW):
        shapes.extend(_window_frame(win_x, h, wall))
    if scene is SceneKind.KITCHEN:
        shapes.extend(_kitchen_wall(wall, accent, h, side))
    if scene is SceneKind.WINDOW:
        shapes.extend(_curtain(win_x, h, wall, side))
    if scene is SceneKind.LIVING_ROOM:
        sofa = rgb(recipe.palette.secondary) * 0.85
        shapes.append(
            (
                "rect",
                (0.5 - side * 0.45 - 0.22, h - 0.2, 0.5 - side * 0.45 + 0.22, h),
                sofa.astype(np.float32),
            )
        )
        shapes.append(
            (
                "ellipse",
                (0.5 - side * 0.45 - 0.26, h - 0.28, 0.5 - side * 0.45 - 0.12, h - 0.1),
                (sofa * 0.9).astype(np.float32),
            )
        )
    if scene is SceneKind.LOBBY:
        shapes.extend(_lobby_wall(wall, accent, h))
    if scene is SceneKind.FESTIVE:
        tree = rgb(recipe.palette.secondary)
        tx = 0.5 - side * 0.33
        for level in range(4):
            width = 0.08 + level * 0.045
            y0 = 0.1 + level * (h - 0.15) / 4
            shapes.append(
                (
                    "ellipse",
                    (tx - width, y0, tx + width, y0 + (h - 0.1) / 3),
                    (tree * (0.8 + 0.06 * level)).astype(np.float32),
                )
            )
    if shapes:
        color, cover = _shapes(stage, shapes)
        image = blend(image, color, cover)
    if Feature.PLANT in recipe.features:
        image = _plant(recipe, stage, image, 0.5 - side * 0.38)
    if Feature.LEAF_SHADOW in recipe.features:
        image = _leaf_shadow(recipe, stage, image)
    return image


Shapes = list[tuple[str, tuple[float, float, float, float], F]]


def _window_frame(x: float, h: float, wall: F) -> Shapes:
    """Glazing bars, a frame and a sill over the window pane."""
    frame = np.clip(wall * 0.8, 0, 1).astype(np.float32)
    top, bottom, left, right = 0.04, h - 0.12, x - 0.16, x + 0.16
    shapes: Shapes = []
    for k in range(3):
        shapes.append(
            (
                "frame",
                (left - 0.002 * k, top - 0.002 * k, right + 0.002 * k, bottom + 0.002 * k),
                frame,
            )
        )
    shapes.append(("rect", (x - 0.006, top, x + 0.006, bottom), frame))
    shapes.append(
        ("rect", (left, (top + bottom) / 2 - 0.006, right, (top + bottom) / 2 + 0.006), frame)
    )
    shapes.append(
        (
            "rect",
            (left - 0.03, bottom, right + 0.03, bottom + 0.02),
            np.clip(wall * 0.9, 0, 1).astype(np.float32),
        )
    )
    return shapes


def _kitchen_wall(wall: F, accent: F, h: float, side: float) -> Shapes:
    """A kitchen behind the counter: wall cabinets with doors and handles away from the
    window, a tiled splashback, a back counter with a chopping board, jars and a kettle."""
    cabinet = np.clip(accent * 0.85 + wall * 0.1, 0, 1).astype(np.float32)
    edge = (cabinet * 0.72).astype(np.float32)
    metal = np.asarray([0.55, 0.56, 0.58], dtype=np.float32)
    tile = np.clip(wall * 0.98, 0, 1).astype(np.float32)
    grout = np.clip(wall * 0.78, 0, 1).astype(np.float32)
    shapes: Shapes = []
    # Splashback: offset rows of subway tiles from the counter up to the cabinets.
    splash_top, row = h - 0.26, 0.032
    shapes.append(("rect", (0.0, splash_top, 1.0, h), grout))
    for r in range(int((h - splash_top) / row) + 1):
        y0 = splash_top + r * row
        shift = 0.04 if r % 2 else 0.0
        for k in range(-1, 13):
            x0 = k * 0.08 + shift
            shapes.append(("rect", (x0 + 0.003, y0 + 0.003, x0 + 0.077, y0 + row - 0.002), tile))
    # Wall cabinets on the side away from the window.
    c0, c1 = (0.0, 0.62) if side > 0 else (0.38, 1.0)
    shapes.append(("rect", (c0, 0.0, c1, splash_top - 0.06), edge))
    doors = 4
    width = (c1 - c0) / doors
    for k in range(doors):
        x0 = c0 + k * width
        shapes.append(("rect", (x0 + 0.006, 0.0, x0 + width - 0.006, splash_top - 0.07), cabinet))
        shapes.append(("frame", (x0 + 0.025, 0.02, x0 + width - 0.025, splash_top - 0.09), edge))
        hx = x0 + (width - 0.03 if k % 2 == 0 else 0.03)
        shapes.append(
            ("rect", (hx - 0.004, splash_top - 0.16, hx + 0.004, splash_top - 0.11), metal)
        )
    # The back counter: a chopping board leaning on the tiles, jars, a kettle.
    far = 0.5 - side * 0.36
    wood = np.asarray([0.62, 0.45, 0.3], dtype=np.float32)
    shapes.append(("rect", (far - 0.07, h - 0.2, far + 0.05, h), wood))
    shapes.append(("ellipse", (far - 0.03, h - 0.19, far + 0.01, h - 0.16), wall))
    for k, jar_h in enumerate((0.1, 0.14, 0.08)):
        jx = far + 0.08 + k * 0.055
        glass = np.clip(wall * 0.85 + np.asarray([0.0, 0.02, 0.03], dtype=np.float32), 0, 1)
        shapes.append(("rect", (jx, h - jar_h, jx + 0.045, h), glass.astype(np.float32)))
        shapes.append(("rect", (jx - 0.002, h - jar_h - 0.015, jx + 0.047, h - jar_h), wood * 0.8))
    kx = 0.5 + side * 0.3
    shapes.append(("ellipse", (kx - 0.06, h - 0.15, kx + 0.06, h + 0.01), metal * 1.2))
    shapes.append(("rect", (kx - 0.02, h - 0.17, kx + 0.02, h - 0.145), metal * 0.6))
    return shapes


def _curtain(x: float, h: float, wall: F, side: float) -> Shapes:
    """A sheer curtain gathered beside the window, in soft vertical folds."""
    cloth = np.clip(wall * 1.04 + 0.02, 0, 1).astype(np.float32)
    fold = np.clip(wall * 0.84, 0, 1).astype(np.float32)
    edge = x - side * 0.17
    shapes: Shapes = []
    for k in range(6):
        x0 = edge - side * k * 0.025
        shapes.append(("rect", (x0, 0.0, x0 - side * 0.02, h - 0.04), cloth if k % 2 else fold))
    shapes.append(
        ("rect", (x - 0.22, 0.015, x + 0.22, 0.025), np.clip(wall * 0.6, 0, 1).astype(np.float32))
    )
    return shapes


def _lobby_wall(
    wall: F, gold: F, h: float
) -> list[tuple[str, tuple[float, float, float, float], F]]:
    """Art-deco wall: tall lit panels with a gold inlay frame, dark pilasters between them,
    a gold cornice and skirting, and a brass sconce on each pilaster."""
    panel = np.clip(wall * 1.35 + 0.03, 0, 1).astype(np.float32)
    pilaster = (wall * 0.7).astype(np.float32)
    brass = np.clip(gold * 0.85, 0, 1).astype(np.float32)
    shapes: list[tuple[str, tuple[float, float, float, float], F]] = [
        ("rect", (0.0, 0.0, 1.0, h), pilaster)
    ]
    for k in range(4):
        x0 = 0.04 + k * 0.25
        shapes.append(("rect", (x0, 0.1, x0 + 0.17, h - 0.05), panel))
        shapes.append(("frame", (x0 + 0.02, 0.13, x0 + 0.15, h - 0.08), brass))
        shapes.append(("frame", (x0 + 0.045, 0.17, x0 + 0.125, h * 0.45), brass))
    shapes.append(("rect", (0.0, 0.06, 1.0, 0.075), brass))
    shapes.append(("rect", (0.0, h - 0.025, 1.0, h - 0.015), brass))
    for k in range(5):
        x = 0.005 + k * 0.25
        shapes.append(("rect", (x - 0.012, h * 0.42, x + 0.012, h * 0.52), brass))
        shapes.append(("ellipse", (x - 0.022, h * 0.36, x + 0.022, h * 0.44), gold))
    return shapes


def _plant(recipe: Recipe, stage: Stage, image: F, x: float) -> F:
    """A potted plant: a pot and a bush of overlapping leaves."""
    rng = stage.rng("plant")
    h = stage.horizon
    green = np.asarray([0.27, 0.42, 0.25], dtype=np.float32)
    shapes: list[tuple[str, tuple[float, float, float, float], F]] = []
    for _ in range(26):
        cx = x + rng.normal(0, 0.05)
        cy = h - 0.22 + rng.normal(0, 0.07)
        r = rng.uniform(0.02, 0.045)
        shapes.append(
            (
                "ellipse",
                (cx - r * 0.6, cy - r, cx + r * 0.6, cy + r),
                (green * rng.uniform(0.7, 1.25)).astype(np.float32),
            )
        )
    shapes.append(
        (
            "rect",
            (x - 0.045, h - 0.11, x + 0.045, h),
            np.asarray([0.86, 0.84, 0.8], dtype=np.float32),
        )
    )
    color, cover = _shapes(stage, shapes)
    return blend(image, color, cover)


def _leaf_shadow(recipe: Recipe, stage: Stage, image: F) -> F:
    """Palm leaves' shadow cast across the wall by a low sun: long, soft-edged fronds."""
    rng = stage.rng("leaves")
    canvas = Image.new("L", (stage.width, stage.height), 0)
    draw = ImageDraw.Draw(canvas)
    side = -1.0 if recipe.light.direction < 0 else 1.0
    origin = (stage.width * (0.5 - side * 0.6), -stage.height * 0.1)
    for frond in range(5):
        angle = rng.uniform(0.2, 1.3) + frond * 0.05
        length = stage.width * rng.uniform(0.5, 0.8)
        for k in range(24):
            t = k / 24
            px = origin[0] + side * np.cos(angle) * length * t
            py = origin[1] + np.sin(angle) * length * t
            leaf = stage.width * 0.09 * np.sin(np.pi * t)
            for direction in (-1, 1):
                tip = (
                    px + direction * leaf * np.sin(angle) * 0.9,
                    py + direction * leaf * np.cos(angle) + leaf * 0.4,
                )
                draw.line((px, py, *tip), fill=255, width=max(2, stage.width // 90))
    blurred = canvas.filter(
        ImageFilter.GaussianBlur(stage.width * (0.004 + 0.01 * (1 - recipe.light.hardness)))
    )
    shadow = np.asarray(blurred, dtype=np.float32) / 255.0
    _, y = grid(stage.width, stage.height)
    shadow = shadow * (1 - smoothstep(stage.horizon - 0.02, stage.horizon + 0.02, y))
    result: F = (image * (1.0 - 0.35 * shadow[..., None])).astype(np.float32)
    return result


def room_lights(recipe: Recipe, stage: Stage, image: F) -> F:
    """Practical lights: bokeh, fairy lights, a spotlight pool, window light on the floor."""
    accent = rgb(recipe.palette.accent)
    if Feature.BOKEH in recipe.features:
        glow = bokeh(
            stage.width,
            stage.height,
            stage.rng("bokeh"),
            [accent, np.clip(accent * 0.8 + 0.2, 0, 1)],
            count=12 if recipe.scene is SceneKind.LOBBY else 28,
            region=(0.05, stage.horizon - 0.05),
            size=0.035,
        )
        image = np.clip(image + glow * 0.9, 0, 1).astype(np.float32)
    if Feature.FAIRY_LIGHTS in recipe.features:
        image = _fairy_lights(stage, image, accent)
    if Feature.SPOTLIGHT in recipe.features:
        spot = radial(stage.width, stage.height, stage.center, stage.horizon * 0.55, 0.5)
        pool = radial(stage.width, stage.height, stage.center, stage.base, 0.45)
        image = screen(
            image,
            np.clip(accent * 0.55, 0, 1).astype(np.float32),
            np.clip(spot * 0.9 + pool * 0.6, 0, 1),
        )
    if Feature.GOLD in recipe.features:
        # Warm light from a chandelier above and from the sconces along the wall.
        image = screen(image, accent, radial(stage.width, stage.height, 0.5, 0.0, 0.5) * 0.45)
        if recipe.scene is SceneKind.LOBBY:
            for k in range(5):
                glow = radial(
                    stage.width, stage.height, 0.005 + k * 0.25, stage.horizon * 0.4, 0.12
                )
                image = screen(image, np.clip(accent * 0.6 + 0.4, 0, 1), glow * 0.8)
    return image


def _fairy_lights(stage: Stage, image: F, color: F) -> F:
    """Strings of tiny warm lights draped across the wall, as soft glowing points."""
    rng = stage.rng("fairy")
    discs = []
    for string in range(3):
        y0 = 0.08 + string * stage.horizon * 0.28
        sag = rng.uniform(0.05, 0.12)
        for k in range(34):
            t = k / 33
            discs.append(
                (t, y0 + sag * np.sin(np.pi * t) + rng.normal(0, 0.004), 0.006, color, 1.0)
            )
    points = disc_layer(stage.width, stage.height, discs)
    halo = disc_layer(
        stage.width, stage.height, [(x, y, r * 4, c, 0.35) for x, y, r, c, _ in discs], blur=0.01
    )
    result: F = np.clip(image + points + halo, 0, 1).astype(np.float32)
    return result
