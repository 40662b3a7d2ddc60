"""Procedural building blocks: noise, gradients, ridges, clouds, bokeh, rays, grain.

Images are float32 arrays, (height, width, 3) for colour and (height, width) for masks, with
values in 0..1 (sRGB). Noise is made small and upsampled by Pillow, which keeps it cheap.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from backdrop.imaging.colors import RGB

F = npt.NDArray[np.float32]


def rgb(color: RGB) -> F:
    """A colour as a float32 (3,) array in 0..1."""
    return np.asarray(color, dtype=np.float32) / 255.0


def resize_mask(values: F, width: int, height: int, *, smooth: bool = True) -> F:
    """A 2-D float array resized with Pillow (bicubic, or nearest when `smooth` is off)."""
    method = Image.Resampling.BICUBIC if smooth else Image.Resampling.NEAREST
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    return np.asarray(image.resize((width, height), method), dtype=np.float32)


def value_noise(
    width: int, height: int, cells: float, rng: np.random.Generator, *, stretch: float = 1.0
) -> F:
    """Smooth noise in 0..1 with about `cells` features across the width (`stretch` widens them)."""
    cells_x = max(2, round(cells / stretch))
    cells_y = max(2, round(cells * height / max(width, 1)))
    grid = rng.random((cells_y + 1, cells_x + 1), dtype=np.float32)
    return resize_mask(grid, width, height)


def fbm(
    width: int,
    height: int,
    cells: float,
    rng: np.random.Generator,
    *,
    octaves: int = 4,
    stretch: float = 1.0,
) -> F:
    """Fractal noise in about 0..1: octaves of value noise, each twice as fine, half as strong."""
    total = np.zeros((height, width), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        total += amplitude * value_noise(width, height, cells * 2**octave, rng, stretch=stretch)
        norm += amplitude
        amplitude *= 0.5
    result: F = total / np.float32(norm)
    return result


def noise_tile(size: int, rng: np.random.Generator, *, cells: int = 8, octaves: int = 4) -> F:
    """A square fractal noise that wraps around at its edges, for sampling at any coordinates."""
    total = np.zeros((size, size), dtype=np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        n = cells * 2**octave
        grid = rng.random((n, n), dtype=np.float32)
        wrapped = np.pad(grid, 2, mode="wrap")
        big = resize_mask(wrapped, size * (n + 4) // n, size * (n + 4) // n)
        offset = 2 * size // n
        total += amplitude * big[offset : offset + size, offset : offset + size]
        norm += amplitude
        amplitude *= 0.5
    result: F = total / np.float32(norm)
    return result


def sample(tile: F, u: F, v: F) -> F:
    """`tile` looked up at texture coordinates (1.0 = one tile), wrapping; bilinear, so a
    texture seen up close stays smooth instead of breaking into texel blocks."""
    size = tile.shape[0]
    fu = u * np.float32(size) - np.float32(0.5)
    fv = v * np.float32(size) - np.float32(0.5)
    iu, iv = np.floor(fu), np.floor(fv)
    tu, tv = (fu - iu).astype(np.float32), (fv - iv).astype(np.float32)
    u0 = iu.astype(np.int64) % size
    v0 = iv.astype(np.int64) % size
    u1, v1 = (u0 + 1) % size, (v0 + 1) % size
    top = tile[v0, u0] + (tile[v0, u1] - tile[v0, u0]) * tu
    bottom = tile[v1, u0] + (tile[v1, u1] - tile[v1, u0]) * tu
    result: F = (top + (bottom - top) * tv).astype(np.float32)
    return result


def vertical_gradient(height: int, width: int, stops: list[tuple[float, F]]) -> F:
    """Rows coloured by linear interpolation between (position 0..1, colour) stops."""
    t = (np.arange(height, dtype=np.float32) + 0.5) / height
    positions = [p for p, _ in stops]
    channels = [np.interp(t, positions, [c[i] for _, c in stops]) for i in range(3)]
    column = np.stack(channels, axis=1).astype(np.float32)
    result: F = np.broadcast_to(column[:, None, :], (height, width, 3)).copy()
    return result


def grid(width: int, height: int) -> tuple[F, F]:
    """Pixel centre coordinates, x and y in 0..1, as broadcastable (1, w) and (h, 1) arrays."""
    x: F = ((np.arange(width, dtype=np.float32) + 0.5) / np.float32(width))[None, :]
    y: F = ((np.arange(height, dtype=np.float32) + 0.5) / np.float32(height))[:, None]
    return x, y


def radial(width: int, height: int, cx: float, cy: float, radius: float) -> F:
    """1 at (cx, cy) falling smoothly to 0 at `radius` (fractions of the width)."""
    x, y = grid(width, height)
    aspect = height / max(width, 1)
    d = np.sqrt((x - cx) ** 2 + ((y - cy) * aspect) ** 2) / max(radius, 1e-6)
    result: F = (np.clip(1.0 - d, 0.0, 1.0) ** 2).astype(np.float32)
    return result


def smoothstep(edge0: float, edge1: float, x: F) -> F:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    result: F = (t * t * (3.0 - 2.0 * t)).astype(np.float32)
    return result


def blend(base: F, color: F, amount: F | float) -> F:
    """`base` mixed towards `color` by `amount` (a scalar or an (h, w) mask)."""
    mask = amount[..., None] if isinstance(amount, np.ndarray) else np.float32(amount)
    result: F = (base + (color - base) * mask).astype(np.float32)
    return result


def screen(base: F, light: F, amount: F) -> F:
    """Light added the way a glow adds to film: brightens without clipping harshly."""
    result: F = (1.0 - (1.0 - base) * (1.0 - light * amount[..., None])).astype(np.float32)
    return result


def profile(
    width: int, rng: np.random.Generator, *, features: float, octaves: int = 4, ridged: bool = False
) -> F:
    """A 1-D height profile in about -1..1 across the width: hills, peaks (`ridged`) or dunes."""
    x = np.linspace(0.0, 1.0, width, dtype=np.float32)
    total = np.zeros(width, dtype=np.float32)
    amplitude = 1.0
    for octave in range(octaves):
        n = max(2, round(features * 2**octave))
        points = rng.uniform(-1.0, 1.0, n + 1).astype(np.float32)
        layer = np.interp(x * n, np.arange(n + 1), points).astype(np.float32)
        if octave == 0:
            # Cosine easing between the control points keeps the big shapes rounded.
            index = np.minimum((x * n).astype(np.int64), n - 1)
            frac = x * n - index
            ease = (1 - np.cos(frac * np.pi)) / 2
            layer = points[index] + (points[index + 1] - points[index]) * ease
        if ridged:
            layer = 1.0 - 2.0 * np.abs(layer)
        total += amplitude * layer
        amplitude *= 0.45
    result: F = (total / 1.7).astype(np.float32)
    return result


def silhouette(height: int, tops: F) -> F:
    """A mask (h, w): 1 below the per-column top (in 0..1 of the height), anti-aliased."""
    y = (np.arange(height, dtype=np.float32) + 0.5) / height
    edge = 1.0 / max(height, 1)
    result: F = np.clip((y[:, None] - tops[None, :]) / edge + 0.5, 0.0, 1.0).astype(np.float32)
    return result


def clouds(width: int, height: int, rng: np.random.Generator, *, cover: float = 0.45) -> F:
    """Cloud density 0..1: fractal noise, stretched sideways, thresholded softly."""
    noise = fbm(width, height, 4.0, rng, octaves=5, stretch=2.5)
    threshold = 1.0 - cover
    result: F = smoothstep(threshold - 0.08, threshold + 0.18, noise)
    return result


def disc_layer(
    width: int, height: int, discs: list[tuple[float, float, float, F, float]], *, blur: float = 0.0
) -> F:
    """Soft discs (x, y, radius as fractions of the width, colour, opacity), added as light."""
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for x, y, r, color, opacity in discs:
        radius = r * width
        fill = tuple(int(np.clip(c * opacity * 255, 0, 255)) for c in color)
        draw.ellipse(
            (x * width - radius, y * height - radius, x * width + radius, y * height + radius),
            fill=fill,
        )
    if blur > 0:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur * width))
    result: F = np.asarray(canvas, dtype=np.float32) / 255.0
    return result


def bokeh(
    width: int,
    height: int,
    rng: np.random.Generator,
    colors: list[F],
    *,
    count: int = 40,
    region: tuple[float, float] = (0.0, 1.0),
    size: float = 0.03,
) -> F:
    """Out-of-focus highlights: soft-edged discs of several sizes, as light to add."""
    discs = []
    for _ in range(count):
        color = colors[int(rng.integers(len(colors)))]
        discs.append(
            (
                float(rng.random()),
                float(rng.uniform(*region)),
                float(size * rng.uniform(0.5, 1.6)),
                color,
                float(rng.uniform(0.25, 0.7)),
            )
        )
    return disc_layer(width, height, discs, blur=size * 0.15)


def light_rays(
    width: int,
    height: int,
    rng: np.random.Generator,
    *,
    source_x: float,
    source_y: float = -0.2,
    count: int = 9,
) -> F:
    """Shafts of light fanning from a point above the frame: a 0..1 mask."""
    x, y = grid(width, height)
    angle = np.arctan2(x - source_x, (y - source_y) * height / max(width, 1))
    phases = rng.uniform(0, 2 * np.pi, count)
    frequencies = rng.uniform(6, 22, count)
    total = np.zeros((height, width), dtype=np.float32)
    for phase, frequency in zip(phases, frequencies, strict=True):
        total += np.clip(np.sin(angle * frequency + phase), 0, 1) ** 6
    fade = np.clip(1.2 - y * 1.1, 0, 1)
    result: F = (total / count * 2.2 * fade).astype(np.float32)
    return np.clip(result, 0.0, 1.0)


def grain(width: int, height: int, rng: np.random.Generator, strength: float) -> F:
    """Film grain (h, w): fine luminance noise with standard deviation `strength` (0..1 units)."""
    result: F = rng.standard_normal((height, width), dtype=np.float32) * np.float32(strength)
    return result


def vignette(width: int, height: int, amount: float) -> F:
    """A multiplicative darkening (h, w) growing towards the corners."""
    x, y = grid(width, height)
    r2 = (x * 2 - 1) ** 2 + (y * 2 - 1) ** 2
    result: F = (1.0 - amount * 0.5 * r2).astype(np.float32)
    return result


def blur(values: F, radius: float) -> F:
    """Gaussian blur of an (h, w) or (h, w, 3) float array in 0..1, via 8-bit Pillow images."""
    if radius < 0.3:
        return values
    if values.ndim == 2:
        return blur_precise(values, radius)
    pixels = np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
    blurred = Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(radius))
    result: F = np.asarray(blurred, dtype=np.float32) / 255.0
    return result


def blur_precise(values: F, radius: float) -> F:
    """Full-precision Gaussian-like blur of an (h, w) array: three box passes per axis."""
    # Three boxes of width w have the variance of a Gaussian of sigma when w² = 4sigma² + 1.
    size = max(1, round(np.sqrt(4 * radius * radius + 1))) | 1  # odd, so it stays centred
    result = values.astype(np.float32)
    for axis in (0, 1):
        for _ in range(3):
            result = _box(result, size, axis)
    return result


def _box(values: F, size: int, axis: int) -> F:
    """A centred moving average of `size` samples along `axis`, edges extended."""
    if size <= 1:
        return values
    before, after = size // 2, size - 1 - size // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (before + 1, after)
    padded = np.pad(values, pad, mode="edge")
    summed = np.cumsum(padded, axis=axis, dtype=np.float32)
    upper = np.take(summed, np.arange(size, summed.shape[axis]), axis=axis)
    lower = np.take(summed, np.arange(0, summed.shape[axis] - size), axis=axis)
    result: F = ((upper - lower) / np.float32(size)).astype(np.float32)
    return result
