"""A test-made product photo for the studio benchmarks: a glazed bottle on a grey sweep.

Drawn with numpy (no eval image): a bottle with cylindrical shading, a label and a cork,
photographed on mid grey, with an anti-aliased matte, so that edge clean-up is exercised.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def bottle_photo(width: int = 768, height: int = 1024) -> tuple[Image.Image, np.ndarray]:
    """(photo "RGB", matte uint8 (h, w)) of a bottle standing in the lower middle of the frame."""
    y = (np.arange(height, dtype=np.float32) + 0.5)[:, None] / height
    x = (np.arange(width, dtype=np.float32) + 0.5)[None, :] / width
    top, bottom = 0.3, 0.86
    t = np.clip((y - top) / (bottom - top), 0, 1)
    # Half-width of the bottle along its height: neck, shoulder, body.
    neck = 0.045
    body = 0.13
    shoulder = np.clip((t - 0.18) / 0.14, 0, 1)
    shoulder = shoulder * shoulder * (3 - 2 * shoulder)
    half = (neck + (body - neck) * shoulder) * (height / width) * 0.75
    dx = (x - 0.5) / np.maximum(half, 1e-3)
    inside = np.clip((1.0 - np.abs(dx)) * half * width, 0, 1) * ((y >= top) & (y <= bottom))
    edge_y = np.clip((y - top) * height, 0, 1) * np.clip((bottom - y) * height, 0, 1)
    matte = np.clip(inside * edge_y, 0, 1)
    glaze = np.asarray([0.16, 0.38, 0.42], dtype=np.float32)
    shade = 0.45 + 0.55 * np.sqrt(np.clip(1 - dx * dx, 0, 1)) - 0.2 * np.clip(dx, 0, 1)
    color = glaze[None, None, :] * shade[..., None]
    highlight = np.exp(-(((dx + 0.45) / 0.08) ** 2)) * (t > 0.05)
    color = color + highlight[..., None] * 0.55
    label = (t > 0.45) & (t < 0.75) & (np.abs(dx) < 1)
    paper = np.asarray([0.93, 0.9, 0.82], dtype=np.float32) * shade[..., None]
    color = np.where(label[..., None], paper, color)
    stripe = label & (np.abs(t - 0.6) < 0.025)
    color = np.where(stripe[..., None], np.asarray([0.7, 0.25, 0.15], dtype=np.float32), color)
    cork = (t < 0.06) & (np.abs(dx) < 1)
    color = np.where(
        cork[..., None], np.asarray([0.62, 0.45, 0.3], dtype=np.float32) * shade[..., None], color
    )
    backdrop = (
        np.full((height, width, 3), 0.55, dtype=np.float32) * (0.9 + 0.1 * (1 - y))[..., None]
    )
    photo = color * matte[..., None] + backdrop * (1 - matte[..., None])
    image = Image.fromarray(np.clip(photo * 255 + 0.5, 0, 255).astype(np.uint8))
    return image, np.clip(matte * 255 + 0.5, 0, 255).astype(np.uint8)
