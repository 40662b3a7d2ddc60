"""Turning what a caller passes as an image (path, bytes, PIL image, URL) into an upload."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from backdrop.common.magic import sniff_content_type

ImageInput = str | Path | bytes | Image.Image


@dataclass(frozen=True)
class Upload:
    """Bytes to upload and their type."""

    data: bytes
    content_type: str


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def as_upload(image: str | Path | bytes | Image.Image) -> Upload:
    """The bytes of a path, bytes or PIL image, with the type read from their magic bytes."""
    if isinstance(image, Image.Image):
        return _encode(image)
    data = Path(image).read_bytes() if isinstance(image, str | Path) else bytes(image)
    content_type = sniff_content_type(data[:32])
    if content_type is None:
        # Other formats Pillow reads (TIFF, BMP, ...) are converted to one the API accepts.
        try:
            with Image.open(io.BytesIO(data)) as decoded:
                return _encode(decoded)
        except OSError:
            raise ValueError("not an image: expected JPEG, PNG or WebP bytes") from None
    return Upload(data, content_type)


def _encode(image: Image.Image) -> Upload:
    buffer = io.BytesIO()
    # Alpha must survive (PNG); opaque photos go as high-quality JPEG to stay under 5 MB.
    if image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info:
        image.save(buffer, "PNG")
        return Upload(buffer.getvalue(), "image/png")
    image.convert("RGB").save(buffer, "JPEG", quality=95)
    return Upload(buffer.getvalue(), "image/jpeg")


def is_image_background(value: str | Path | bytes | Image.Image) -> bool:
    """A background that is an image to upload, rather than a colour or an uploaded URL."""
    if isinstance(value, Path | bytes | Image.Image):
        return True
    return not is_url(value) and Path(value).is_file()
