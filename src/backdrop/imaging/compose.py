"""Putting a subject (an RGB image and its alpha matte) onto a background, and encoding results.

Mattes are `numpy` arrays of dtype uint8 and shape (height, width), 255 where the subject is.
A matte of the wrong shape is a programming error and raises `ValueError`.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from backdrop.imaging.colors import RGBA
from backdrop.imaging.decode import flatten_alpha

Alpha = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


def cutout(image: Image.Image, alpha: Alpha) -> Image.Image:
    """The subject alone: an "RGBA" image whose alpha is the matte."""
    _check_matte(image, alpha)
    rgba = image.convert("RGB").convert("RGBA")
    rgba.putalpha(mask_image(alpha))
    return rgba


def on_color(image: Image.Image, alpha: Alpha, rgba: RGBA) -> Image.Image:
    """The subject over a solid colour: "RGB" if the colour is opaque, else "RGBA"."""
    _check_matte(image, alpha)
    subject = _as_float(image.convert("RGB"))
    front = alpha.astype(np.float32)[..., None] / 255.0
    color = np.asarray(rgba[:3], dtype=np.float32)
    back = rgba[3] / 255.0
    if rgba[3] == 255:
        return _to_image(subject * front + color * (1.0 - front))
    # Porter-Duff "over" with a translucent backdrop, in straight (unpremultiplied) alpha.
    out_alpha = front + back * (1.0 - front)
    premultiplied = subject * front + color * back * (1.0 - front)
    safe = np.where(out_alpha > 0, out_alpha, 1.0)
    rgb = np.where(out_alpha > 0, premultiplied / safe, 0.0)
    return _to_image(np.concatenate([rgb, out_alpha * 255.0], axis=2))


def on_image(image: Image.Image, alpha: Alpha, background: Image.Image) -> Image.Image:
    """The subject over `background`, which is scaled to cover the image and centre-cropped."""
    _check_matte(image, alpha)
    backdrop = flatten_alpha(background)
    if backdrop.size != image.size:
        backdrop = ImageOps.fit(backdrop, image.size, method=Image.Resampling.LANCZOS)
    subject = _as_float(image.convert("RGB"))
    front = alpha.astype(np.float32)[..., None] / 255.0
    return _to_image(subject * front + _as_float(backdrop) * (1.0 - front))


def mask_image(alpha: Alpha) -> Image.Image:
    """The matte as a greyscale "L" image."""
    if alpha.ndim != 2:
        raise ValueError(f"a matte must be 2-D, got shape {alpha.shape}")
    return Image.fromarray(np.ascontiguousarray(alpha, dtype=np.uint8))


def encode_png(image: Image.Image) -> bytes:
    """The image as PNG bytes (alpha kept)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def encode_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """The image as JPEG bytes; JPEG has no alpha, so transparency is flattened onto white."""
    buffer = io.BytesIO()
    flat = image if image.mode == "L" else flatten_alpha(image)
    flat.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _check_matte(image: Image.Image, alpha: Alpha) -> None:
    expected = (image.height, image.width)
    if alpha.shape != expected:
        raise ValueError(f"matte shape {alpha.shape} does not match image size {expected}")
    if alpha.dtype != np.uint8:
        raise ValueError(f"a matte must be uint8, got {alpha.dtype}")


def _as_float(image: Image.Image) -> FloatArray:
    return np.asarray(image, dtype=np.float32)


def _to_image(values: npt.NDArray[np.floating]) -> Image.Image:
    """Round float pixels to the nearest integer and build an image ("RGB" or "RGBA")."""
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
