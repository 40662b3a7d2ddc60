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


def estimate_foreground(image: Image.Image, alpha: Alpha) -> Image.Image:
    """The subject's own colours, without the old background mixed into its soft edges.

    Where alpha is strictly between 0 and 1 a pixel is a mix of subject and old background;
    composited as is onto a new background, it shows a fringe of the old one. This solves
    `image = alpha * F + (1 - alpha) * B` for F with blurred local estimates of F and B
    (Forte & Pitie, "Approximate fast foreground colour estimation", ICIP 2021: two passes
    of box blurs, radius 90 then 6). The blurred estimates are smooth, so they are made at
    about 1 MP and enlarged; the final per-pixel correction uses the full-size image. Opaque
    pixels keep their colour exactly; an image without soft pixels is returned as is.
    """
    _check_matte(image, alpha)
    rgb = image.convert("RGB")
    if not np.any((alpha > 0) & (alpha < 255)):
        return rgb
    import cv2

    height, width = alpha.shape
    shrink = min(1.0, (_FOREGROUND_WORKING_PIXELS / (height * width)) ** 0.5)
    small_size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
    pixels = (_as_float(rgb) / np.float32(255.0)).astype(np.float32, copy=False)
    a = (alpha[..., None] / np.float32(255.0)).astype(np.float32, copy=False)
    small: FloatArray
    small_a: FloatArray
    if shrink < 1.0:
        small = np.asarray(cv2.resize(pixels, small_size, interpolation=cv2.INTER_AREA), np.float32)
        small_a = np.asarray(cv2.resize(a, small_size, interpolation=cv2.INTER_AREA), np.float32)[
            ..., None
        ]
    else:
        small, small_a = pixels, a

    def blur(x: FloatArray, size: int) -> FloatArray:
        blurred: FloatArray = np.asarray(
            cv2.blur(x, (size, size), borderType=cv2.BORDER_REFLECT), dtype=np.float32
        )
        return blurred.reshape(x.shape)

    foreground, background = small, small
    blurred_f = blurred_b = small
    for radius in (90, 6):
        size = 2 * radius + 1
        blurred_a = blur(small_a, size)
        weighted_f = (foreground * small_a).astype(np.float32, copy=False)
        weighted_b = (background * (1 - small_a)).astype(np.float32, copy=False)
        blurred_f = (blur(weighted_f, size) / (blurred_a + np.float32(1e-5))).astype(np.float32)
        blurred_b = (blur(weighted_b, size) / (1.00001 - blurred_a)).astype(np.float32)
        foreground = _correct(small, small_a, blurred_f, blurred_b)
        background = blurred_b
    if shrink < 1.0:
        full = (width, height)
        large_f: FloatArray = np.asarray(
            cv2.resize(blurred_f, full, interpolation=cv2.INTER_LINEAR), dtype=np.float32
        )
        large_b: FloatArray = np.asarray(
            cv2.resize(blurred_b, full, interpolation=cv2.INTER_LINEAR), dtype=np.float32
        )
        foreground = _correct(pixels, a, large_f, large_b)
    opaque = alpha == 255
    foreground[opaque] = pixels[opaque]
    return _to_image(foreground * np.float32(255.0))


_FOREGROUND_WORKING_PIXELS = 500_000


def _correct(
    pixels: FloatArray, a: FloatArray, blurred_f: FloatArray, blurred_b: FloatArray
) -> FloatArray:
    """The per-pixel step of the blur-fusion estimator: F = F' + a (I - a F' - (1 - a) B')."""
    corrected: FloatArray = np.clip(
        blurred_f + a * (pixels - a * blurred_f - (1 - a) * blurred_b), 0.0, 1.0
    )
    return corrected


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
