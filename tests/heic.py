"""HEIC files made in the test, as an iPhone would send them (pillow-heif writes them)."""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image


def heic_bytes(image: Image.Image, quality: int = 90) -> bytes:
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", quality=quality)
    return buffer.getvalue()
