"""Nature close up: misty forests, an autumn park, moss and stones, a halloween night."""

from __future__ import annotations

import numpy as np

from backdrop.engines.studio.layers import (
    F,
    blend,
    bokeh,
    fbm,
    grid,
    light_rays,
    profile,
    radial,
    rgb,
    screen,
    silhouette,
)
from backdrop.engines.studio.lighting import sky_colors
from backdrop.engines.studio.materials import Textures
from backdrop.engines.studio.recipe import Feature, Recipe, SceneKind
from backdrop.engines.studio.scenes.parts import floor_depth, fog, sky, surface
from backdrop.engines.studio.stage import Scene, Stage


def render(recipe: Recipe, stage: Stage, textures: Textures) -> Scene:
    image = sky(stage, recipe)
    _, haze = sky_colors(recipe.light, rgb(recipe.palette.primary))
    haze = (haze * 0.5 + rgb(recipe.palette.primary) * 0.5).astype(np.float32)
    foliage = rgb(recipe.palette.secondary)
    if recipe.scene in (SceneKind.FOREST, SceneKind.HALLOWEEN):
        for layer in range(4):
            distance = 0.8 - layer * 0.25
            color = (
                foliage * (0.9 - 0.1 * layer)
                if recipe.scene is SceneKind.FOREST
                else rgb(recipe.palette.secondary) * 0.6
            ).astype(np.float32)
            image = _pines(
                stage, image, color, haze, layer, distance, bare=recipe.scene is SceneKind.HALLOWEEN
            )
    elif recipe.scene is SceneKind.PARK:
        leaves = fbm(stage.width, stage.height, 7, stage.rng("canopy"), octaves=4)
        canopy = blend(
            np.broadcast_to(foliage, image.shape).astype(np.float32),
            rgb(recipe.palette.accent),
            np.clip(leaves * 1.6 - 0.4, 0, 1),
        )
        image = blend(image, canopy, np.clip(leaves * 1.8 - 0.3, 0, 1) * 0.9)
    else:
        greenery = fbm(stage.width, stage.height, 5, stage.rng("greenery"), octaves=3)
        muted = foliage * 0.55 + np.float32(foliage.mean()) * 0.25
        back = np.broadcast_to(muted, image.shape).astype(np.float32)
        image = blend(image, back * (0.7 + 0.6 * greenery[..., None]), 0.85)
    ground = (
        rgb(recipe.palette.secondary)
        if recipe.scene is not SceneKind.HALLOWEEN
        else np.asarray([0.12, 0.09, 0.12], dtype=np.float32)
    )
    if recipe.scene is SceneKind.PARK:
        ground = (
            rgb(recipe.palette.secondary) * 0.7 + np.asarray([0.1, 0.08, 0.02], dtype=np.float32)
        ).astype(np.float32)
    floor, mask = surface(stage, recipe, ground, textures, haze=haze)
    image = blend(image, floor, mask)
    if Feature.STONES in recipe.features:
        image = _stones(recipe, stage, image)
    if Feature.RAYS in recipe.features:
        rays = light_rays(
            stage.width,
            stage.height,
            stage.rng("rays"),
            source_x=0.5 + recipe.light.direction * 0.5,
        )
        image = screen(image, rgb(recipe.palette.accent), rays * 0.35)
    if Feature.FOG in recipe.features:
        color = rgb(recipe.palette.primary) if recipe.scene is SceneKind.HALLOWEEN else haze
        image = fog(stage, image, np.clip(color * 1.1, 0, 1).astype(np.float32), 0.55)
    if Feature.PUMPKINS in recipe.features:  # in front of the fog: they stand by the subject
        image = _pumpkins(recipe, stage, image)
    if Feature.BOKEH in recipe.features or Feature.LEAVES in recipe.features:
        glow = bokeh(
            stage.width,
            stage.height,
            stage.rng("leaf-bokeh"),
            [rgb(recipe.palette.accent), rgb(recipe.palette.primary)],
            count=26,
            region=(0.0, stage.horizon),
            size=0.04,
        )
        image = np.clip(image + glow * 0.5, 0, 1).astype(np.float32)
    depth = np.maximum(floor_depth(stage) * mask, 1.0 - mask)
    return Scene(image, depth.astype(np.float32))


def _pines(
    stage: Stage, image: F, color: F, haze: F, layer: int, distance: float, *, bare: bool
) -> F:
    """A row of conifers (or bare trees): spiky tops over a dark mass, hazed by distance."""
    rng = stage.rng(f"pines{layer}")
    count = 18 - layer * 3
    x = np.linspace(0, 1, stage.width, dtype=np.float32)
    base_line = stage.horizon - 0.02 * (3 - layer)
    tops = np.full(stage.width, base_line, dtype=np.float32)
    for centre in rng.uniform(-0.05, 1.05, count):
        height = rng.uniform(0.2, 0.45) * (0.7 + 0.15 * layer)
        width = height * (0.18 if not bare else 0.05)
        tree = base_line - height + np.abs(x - centre) / width * height
        tops = np.minimum(tops, tree.astype(np.float32))
    tops = tops + 0.004 * profile(stage.width, rng, features=60, octaves=1)
    mask = silhouette(stage.height, tops.astype(np.float32))
    body = blend(np.broadcast_to(color, image.shape).astype(np.float32), haze, distance)
    return blend(image, body, mask)


# River stone colours: warm grey, blue grey, slate, sandstone, near black.
_STONE_COLORS: tuple[tuple[float, float, float], ...] = (
    (0.6, 0.58, 0.54),
    (0.5, 0.53, 0.56),
    (0.36, 0.37, 0.39),
    (0.66, 0.6, 0.5),
    (0.24, 0.24, 0.25),
)


def _stones(recipe: Recipe, stage: Stage, image: F) -> F:
    """Smooth river stones around the subject: rounded, lit from the key light's side, each
    with a soft contact shadow, a speckled surface and its own colour; far ones drawn first."""
    rng = stage.rng("stones")
    w, h = stage.width, stage.height
    lx = float(np.clip(recipe.light.direction, -0.8, 0.8))
    light_dir = np.asarray([lx, -0.6, 0.55], dtype=np.float32)
    light_dir /= np.linalg.norm(light_dir)
    half = (stage.right - stage.left) / 2 + 0.03
    stones = []
    for _ in range(14):
        cy = float(rng.uniform(stage.horizon + 0.03, 1.02))
        cx = float(rng.uniform(-0.05, 1.05))
        if abs(cx - stage.center) < half and cy < stage.base + 0.08:
            cx = stage.center + np.sign(cx - stage.center + 1e-3) * (half + rng.uniform(0, 0.15))
        near = (cy - stage.horizon) / max(1.0 - stage.horizon, 0.05)  # 0 far .. 1 near
        r = float((0.025 + 0.09 * near) * rng.uniform(0.7, 1.3))
        stones.append(
            (cy, cx, r, float(rng.uniform(0.45, 0.7)), int(rng.integers(len(_STONE_COLORS))))
        )
    speckle = fbm(w, h, 40, rng, octaves=2)
    result = image.copy()
    for cy, cx, r, flat, tone in sorted(stones):
        rx, ry = r, r * flat * w / h  # radii in fractions of width and of height
        x0, x1 = max(0, int((cx - rx * 1.4) * w)), min(w, int((cx + rx * 1.6) * w) + 1)
        y0, y1 = max(0, int((cy - ry * 1.2) * h)), min(h, int((cy + ry * 1.8) * h) + 1)
        if x1 <= x0 or y1 <= y0:
            continue
        xs = ((np.arange(x0, x1, dtype=np.float32) + 0.5) / w - cx)[None, :] / rx
        ys = ((np.arange(y0, y1, dtype=np.float32) + 0.5) / h - cy)[:, None] / ry
        patch = result[y0:y1, x0:x1]
        # Contact shadow: a soft dark ellipse under the stone, pushed away from the light.
        sx, sy = xs + lx * 0.25, (ys - 0.45) * 1.6
        shadow = np.clip(1.0 - np.sqrt(sx * sx + sy * sy) / 1.15, 0.0, 1.0) ** 1.5
        patch = (patch * (1.0 - 0.55 * shadow[..., None])).astype(np.float32)
        # The stone: a flattened dome; its normal gives Lambert light, a soft sheen, and a
        # darker rim where it curves away.
        d2 = xs * xs + ys * ys
        inside = np.clip((1.0 - d2) * r * w * 0.8, 0.0, 1.0)
        nz = np.sqrt(np.clip(1.0 - d2, 0.0, 1.0)) * 1.4
        norm = np.sqrt(xs * xs + ys * ys + nz * nz) + 1e-6
        lambert = np.clip((xs * light_dir[0] + ys * light_dir[1] + nz * light_dir[2]) / norm, 0, 1)
        sheen = lambert**12 * 0.25
        base = np.asarray(_STONE_COLORS[tone], dtype=np.float32)
        grain = 0.9 + 0.2 * speckle[y0:y1, x0:x1]
        color = base * (0.35 + 0.8 * lambert * grain)[..., None] + sheen[..., None]
        patch = blend(patch, np.clip(color, 0, 1).astype(np.float32), inside.astype(np.float32))
        result[y0:y1, x0:x1] = patch
    return result


def _pumpkins(recipe: Recipe, stage: Stage, image: F) -> F:
    """Jack-o'-lanterns either side of the subject: ribbed, lit from within through a carved
    face, with a stem and a warm pool of light on the ground."""
    orange = rgb(recipe.palette.accent)
    w, h = stage.width, stage.height
    half = (stage.right - stage.left) / 2
    result = image
    x, y = grid(w, h)
    # (side, size, how far out, how far in front): one big lantern, two smaller ones.
    for side, scale, out, front in (
        (-1, 1.0, 0.13, 0.06),
        (1, 0.78, 0.11, 0.02),
        (-1, 0.55, 0.3, -0.03),
    ):
        r = 0.11 * scale  # half-width, as a fraction of the width
        ry = r * 0.78 * w / h
        cx = stage.center + side * (half + out)
        cy = min(stage.base + front, 0.97) - ry
        # The pool of light it throws on the ground, and its glow in the fog.
        pool = radial(w, h, cx, cy + ry, r * 3.2)
        result = screen(result, orange, pool * 0.5)
        dx, dy = (x - cx) / r, (y - cy) / ry
        # Lobes: the outline bulges out at each rib.
        angle = np.arctan2(dy, dx)
        bumps = 1.0 + 0.035 * np.abs(np.sin(angle * 4.0))
        d = np.sqrt(dx * dx + dy * dy) / bumps
        body = np.clip((1.0 - d) * r * w * 0.7, 0.0, 1.0)
        ribs = 1.0 - 0.35 * np.abs(np.sin(np.arcsin(np.clip(dx, -1, 1)) * 3.0)) ** 0.6
        round_shade = np.sqrt(np.clip(1.0 - dx * dx, 0.0, 1.0)) * (0.75 - 0.35 * dy)
        shade = np.clip(ribs * (0.35 + 0.8 * round_shade), 0.0, 1.3)
        skin = np.clip(orange * shade[..., None] * 0.85, 0.0, 1.0)
        result = blend(result, skin.astype(np.float32), body.astype(np.float32))
        # The carved face, glowing: triangle eyes and a jagged grin.
        eyes = np.zeros_like(body)
        for ex in (-0.38, 0.38):
            ey = -0.22
            tri = (dy - ey > -0.22) & (dy - ey < 0.16) & (np.abs(dx - ex) < (dy - ey + 0.22) * 0.55)
            eyes = np.maximum(eyes, tri.astype(np.float32))
        mouth_top = 0.18 + 0.1 * (np.abs(np.sin(dx * 9.0)) > 0.6)
        mouth = (dy > mouth_top) & (dy < 0.42 - 0.5 * dx * dx) & (np.abs(dx) < 0.62)
        face = np.maximum(eyes, mouth.astype(np.float32)) * (body > 0.5)
        flame = np.asarray([1.0, 0.86, 0.45], dtype=np.float32)
        result = blend(result, flame, face.astype(np.float32))
        result = screen(result, flame, radial(w, h, cx, cy, r * 1.3) * face.any() * 0.12)
        # The stem, dark green-brown, a little off-centre.
        stem = (np.abs(dx - 0.06 + dy * 0.2) < 0.12) & (dy > -1.22) & (dy < -0.85)
        result = blend(
            result, np.asarray([0.22, 0.2, 0.1], dtype=np.float32), stem.astype(np.float32)
        )
    return result
