"""Shadows under a cut-out subject, made from its mask and box.

The types are the contract between the routes that parse a shadow request (remove.bg's
add_shadow, Photoroom's shadow.mode, the CLI, the page) and this stage, which draws it.

A shadow is a ground layer: how much of a colour (black, or the mirrored subject for a
reflection) lies on the floor at each pixel. It goes *under* the subject, so the subject itself
is never darkened; on a transparent result it becomes semi-transparent black in the alpha.

Everything soft is drawn on a small working copy (long side <= 512) and enlarged once, so a
shadow costs a few milliseconds whatever the canvas size (bench/PRODUCT.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

# contact: soft occlusion where the subject meets the ground; drop: a soft offset copy of the
# silhouette; cast: the silhouette projected on a ground plane; floating: an ellipse below;
# reflection: a fading mirror image on a glossy floor.
ShadowMode = Literal["contact", "drop", "cast", "floating", "reflection"]
SHADOW_MODES: tuple[ShadowMode, ...] = ("contact", "drop", "cast", "floating", "reflection")

UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

# The working copy's long side: shadows are soft, so they lose nothing drawn this small.
_WORK_SIDE = 512
# A pixel belongs to the subject's box from alpha 0.5 up (as imaging.output's crop).
_SOLID = 128


@dataclass(frozen=True)
class ShadowSpec:
    mode: ShadowMode = "drop"
    opacity: float = 0.5  # 0..1: the darkest the shadow gets
    softness: float = 0.5  # 0 hard .. 1 very soft
    angle: float = 45.0  # degrees the light comes from, clockwise from straight above
    length: float = 0.5  # cast shadow: length as a fraction of the subject's height

    def __post_init__(self) -> None:
        if self.mode not in SHADOW_MODES:
            raise ValueError(f"shadow mode must be one of {', '.join(SHADOW_MODES)}")
        for name in ("opacity", "softness"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"shadow {name} must be between 0 and 1, not {value}")
        if not 0.0 <= self.length <= 3.0:
            raise ValueError(f"shadow length must be between 0 and 3, not {self.length}")
        if not math.isfinite(self.angle):
            raise ValueError("shadow angle must be a number of degrees")


@dataclass(frozen=True)
class GroundLayer:
    """What lies on the floor under the subject: `alpha` (uint8, h x w) of `color` (uint8,
    h x w x 3; None: black)."""

    alpha: UInt8Array
    color: UInt8Array | None = None


def solid_box(alpha: UInt8Array) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) around alpha >= 0.5, or None when nothing reaches it."""
    solid = alpha >= _SOLID
    rows = np.flatnonzero(solid.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(solid.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def ground_layer(alpha: UInt8Array, spec: ShadowSpec, rgb: UInt8Array | None = None) -> GroundLayer:
    """The shadow (or reflection) of the subject whose matte is `alpha`, at its size.

    `rgb` (the subject's colours, h x w x 3) is needed for a reflection only. A matte with no
    solid pixel has no shadow.
    """
    height, width = alpha.shape
    empty = GroundLayer(np.zeros_like(alpha))
    if solid_box(alpha) is None or spec.opacity <= 0:
        return empty
    scale = min(1.0, _WORK_SIDE / max(width, height))
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = alpha
    if scale < 1.0:
        small = np.asarray(
            cv2.resize(alpha, (small_w, small_h), interpolation=cv2.INTER_AREA), dtype=np.uint8
        )
    unit = small.astype(np.float32) * np.float32(1 / 255)
    box = solid_box(small) or (0, 0, small_w, small_h)
    if spec.mode == "reflection":
        return _reflection(alpha, rgb, spec, (width, height))
    amount = shadow_amount(unit, box, spec)
    amount *= np.float32(255)
    layer = np.clip(amount, 0, 255).astype(np.uint8)
    if layer.shape != alpha.shape:
        layer = np.asarray(
            cv2.resize(layer, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
        )
    return GroundLayer(layer)


def shadow_amount(
    unit: FloatArray,
    box: tuple[float, float, float, float],
    spec: ShadowSpec,
    *,
    back: float | None = None,
) -> FloatArray:
    """How dark the floor is at each pixel (0..opacity), drawn at `unit`'s own size from the
    matte (0..1) and the subject's box in pixels (left, top, right, bottom): the one drawing
    of every shadow but the reflection, shared by `ground_layer` and the studio engine.

    `back` (cast only): how far a point h above the base falls back up the picture, as a
    fraction of h (the floor's foreshortening); None: from the light's angle.
    """
    if spec.mode == "reflection":
        raise ValueError("a reflection carries colours: use ground_layer")
    if spec.mode == "cast":
        amount = _cast(unit, box, spec, back)
    else:
        draw = {"contact": _contact, "drop": _drop, "floating": _floating}[spec.mode]
        amount = draw(unit, box, spec)
    amount *= np.float32(spec.opacity)
    return amount


def _blur(plane: FloatArray, sigma: float) -> FloatArray:
    if sigma < 0.3:
        return plane
    height, width = plane.shape
    # A wide blur is made smaller, blurred and enlarged: the same look at a fraction of the
    # cost (a Gaussian's cost grows with its radius).
    factor = int(sigma // 4)
    if factor >= 2 and min(height, width) // factor >= 8:
        small = cv2.resize(plane, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
        small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_CONSTANT)
        blurred = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        blurred = cv2.GaussianBlur(plane, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return np.asarray(blurred, dtype=np.float32)


def _warp(plane: FloatArray, matrix: list[list[float]]) -> FloatArray:
    """`plane` moved by the affine `matrix` (source -> destination), same size, zero outside."""
    height, width = plane.shape
    warped = cv2.warpAffine(
        plane,
        np.asarray(matrix, dtype=np.float64),
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return np.asarray(warped, dtype=np.float32)


def _contact(
    unit: FloatArray, box: tuple[float, float, float, float], spec: ShadowSpec
) -> FloatArray:
    """The footprint: the silhouette squashed flat onto its base line (a tight dark core and a
    wider soft halo), plus a dark line under every part of the subject's bottom edge, so it
    stands on the floor rather than hovering over it."""
    left, top, right, base = box
    tall, wide = max(base - top, 1.0), max(right - left, 1.0)
    total = np.zeros_like(unit)
    soft = 0.5 + 1.5 * spec.softness
    for squash, sigma, strength in ((0.03, 0.006, 0.75), (0.1, 0.03, 0.4)):
        # Output row y shows input row base + (y - base) / squash, shifted a little down so
        # the band straddles the base line.
        shift = squash * tall * 0.35
        flat = _warp(unit, [[1, 0, 0], [0, squash, base * (1 - squash) + shift]])
        reach = sigma * soft * max(wide * 2.0, tall)
        total += _blur(flat, max(0.5, reach)) * strength
    total += _occlusion(unit, base, tall)
    # Only the floor: nothing above the lowest tenth of the subject.
    rows = np.arange(unit.shape[0], dtype=np.float32)[:, None]
    total *= np.clip((rows - (base - 0.1 * tall)) / max(0.05 * tall, 1.0), 0.0, 1.0)
    return np.minimum(total, 1.0)


def _occlusion(unit: FloatArray, base: float, tall: float) -> FloatArray:
    """The dark line where the subject meets the floor, under every part of its bottom edge.

    The squashed footprint sits at the box's lowest row; a subject whose bottom is not flat
    (a rounded base, feet, legs) meets the floor higher in some columns and would float there.
    Each column is darkened for a few pixels below its own lowest solid pixel, within the
    lowest tenth of the subject."""
    height = unit.shape[0]
    reach = max(2, round(tall * 0.03))
    near_base = (np.arange(height, dtype=np.float32) >= base - tall * 0.1)[:, None]
    solid = (unit >= 0.5).astype(np.float32) * near_base
    total = np.zeros_like(unit)
    for step in range(1, reach + 1):
        shifted = np.zeros_like(solid)
        shifted[step:] = solid[:-step]
        np.maximum(total, shifted * (1.0 - step / (reach + 1)), out=total)
    total *= (1.0 - unit) * 0.7
    return total


def _light(spec: ShadowSpec) -> tuple[float, float]:
    """The unit step away from the light, in image coordinates (x right, y down)."""
    radians = math.radians(spec.angle)
    return -math.sin(radians), math.cos(radians)


def _drop(unit: FloatArray, box: tuple[float, float, float, float], spec: ShadowSpec) -> FloatArray:
    """The silhouette offset away from the light and blurred: a soft drop shadow."""
    left, top, right, bottom = box
    size = max(right - left, bottom - top)
    away_x, away_y = _light(spec)
    distance = size * (0.015 + 0.04 * spec.softness)
    moved = _warp(unit, [[1, 0, away_x * distance], [0, 1, away_y * distance]])
    return _blur(moved, size * (0.004 + 0.045 * spec.softness))


def _cast(
    unit: FloatArray,
    box: tuple[float, float, float, float],
    spec: ShadowSpec,
    back: float | None = None,
) -> FloatArray:
    """The silhouette laid on the ground plane behind the subject and slanted away from the
    light; sharp at the feet, softer and fainter the farther it falls."""
    _, top, _, base = box
    tall = max(base - top, 1)
    radians = math.radians(spec.angle)
    # A point h above the base lands length·h away along the floor: sideways by the light's
    # side, and back (up the picture, foreshortened) by how frontal the light is.
    sideways = -math.sin(radians) * spec.length
    if back is None:
        back = abs(math.cos(radians)) * spec.length * 0.35
    back = max(back, 0.03)
    matrix = [[1, -sideways, sideways * base], [0, back, base * (1 - back)]]
    shadow = _warp(unit, matrix)
    # How far along the shadow each pixel is, 0 at the feet .. 1 at the tip: the height map
    # of the subject moved the same way.
    rows = np.arange(unit.shape[0], dtype=np.float32)[:, None]
    height_map = np.clip((base - rows) / tall, 0.0, 1.0) * unit
    reach = _warp(np.ascontiguousarray(height_map, dtype=np.float32), matrix)
    along = np.divide(reach, shadow, out=np.zeros_like(reach), where=shadow > 1e-3)
    near = _blur(shadow, max(0.5, tall * (0.002 + 0.01 * spec.softness)))
    far = _blur(shadow, tall * (0.01 + 0.06 * spec.softness))
    along = _blur(along, tall * 0.02)
    mixed: FloatArray = near * (1.0 - along) + far * along
    mixed *= 1.0 - 0.6 * along
    return mixed


def _floating(
    unit: FloatArray, box: tuple[float, float, float, float], spec: ShadowSpec
) -> FloatArray:
    """A soft ellipse some way below the subject, as if it hovered over the floor."""
    left, top, right, base = box
    wide, tall = max(right - left, 1), max(base - top, 1)
    ellipse = np.zeros_like(unit)
    centre = (round((left + right) / 2), round(base + 0.06 * tall))
    axes = (max(1, round(wide * 0.42)), max(1, round(wide * 0.05)))
    cv2.ellipse(ellipse, centre, axes, 0, 0, 360, 1.0, thickness=-1, lineType=cv2.LINE_AA)
    return _blur(ellipse, max(1.0, wide * (0.02 + 0.06 * spec.softness)))


def _reflection(
    alpha: UInt8Array, rgb: UInt8Array | None, spec: ShadowSpec, size: tuple[int, int]
) -> GroundLayer:
    """The subject mirrored about its base line, fading out over `length` of its height:
    a glossy floor. Drawn at full size (it carries the subject's colours), in row strips."""
    width, height = size
    box = solid_box(alpha)
    if box is None:
        return GroundLayer(np.zeros_like(alpha))
    _, top, _, base = box
    tall = base - top
    reach = min(height - base, max(1, round(tall * max(spec.length, 0.05))))
    layer = np.zeros_like(alpha)
    color = np.zeros((height, width, 3), np.uint8)
    if reach <= 0:
        return GroundLayer(layer, color)
    # Rows base .. base + reach show rows base - 1 .. base - reach, fading linearly.
    source = slice(base - reach, base)
    fade = np.linspace(1.0, 0.0, reach, dtype=np.float32)[:, None] * np.float32(spec.opacity)
    mirrored = alpha[source][::-1].astype(np.float32) * fade
    if spec.softness > 0:
        mirrored = _blur(mirrored, spec.softness * tall * 0.01)
    layer[base : base + reach] = np.clip(mirrored, 0, 255).astype(np.uint8)
    if rgb is not None:
        color[base : base + reach] = rgb[source][::-1]
    return GroundLayer(layer, color)
