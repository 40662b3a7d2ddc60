"""Turning what a caller passes as an image (path, bytes, PIL image, URL) into an upload."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps

from backdrop.common.magic import sniff_content_type

ImageInput = str | Path | bytes | Image.Image

log = logging.getLogger("backdrop.client")

# The API's upload limit (LightX's and backdrop's uploadImageUrl `size`): 5 MB.
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# A shrunk photo's JPEG quality: visually lossless for a cut-out, about a third of q95's size.
SHRINK_QUALITY = 90
# Each try that is still too large goes down to this share of the previous side lengths.
SHRINK_STEP = 0.9


class NotAnImage(ValueError):
    """The bytes are no image format the SDK can send (a text file, a PDF...)."""


@dataclass(frozen=True)
class Upload:
    """Bytes to upload and their type; `note` says how they were shrunk to fit, if they were."""

    data: bytes
    content_type: str
    note: str | None = None


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def as_upload(image: str | Path | bytes | Image.Image) -> Upload:
    """The bytes to send for a path, bytes or PIL image, under the API's 5 MB limit.

    The type is read from the magic bytes. An image over the limit is shrunk (a warning on the
    "backdrop.client" logger says so, and `Upload.note`); the server would refuse it whole.
    """
    upload = _read(image)
    if len(upload.data) <= MAX_UPLOAD_BYTES:
        return upload
    shrunk = shrink_to_limit(upload.data, MAX_UPLOAD_BYTES)
    log.warning("%s", shrunk.note)
    return shrunk


def _read(image: str | Path | bytes | Image.Image) -> Upload:
    if isinstance(image, Image.Image):
        return _encode(image)
    name = str(image) if isinstance(image, str | Path) else "the bytes"
    data = Path(image).read_bytes() if isinstance(image, str | Path) else bytes(image)
    content_type = sniff_content_type(data[:32])
    if content_type is not None:
        return Upload(data, content_type)
    # Other formats Pillow reads (TIFF, BMP, ...) are converted to one the API accepts.
    try:
        with Image.open(io.BytesIO(data)) as decoded:
            return _encode(decoded)
    except OSError:
        raise NotAnImage(f"{name} is not an image: send a JPEG, PNG, WebP or HEIC file") from None


def _encode(image: Image.Image) -> Upload:
    buffer = io.BytesIO()
    # Alpha must survive (PNG); opaque photos go as high-quality JPEG to stay under 5 MB.
    if _has_alpha(image):
        image.save(buffer, "PNG")
        return Upload(buffer.getvalue(), "image/png")
    image.convert("RGB").save(buffer, "JPEG", quality=95)
    return Upload(buffer.getvalue(), "image/jpeg")


def shrink_to_limit(data: bytes, limit: int) -> Upload:
    """`data` re-encoded at the largest size (aspect kept) whose file is at most `limit` bytes.

    Opaque images become JPEG at SHRINK_QUALITY, first at full size, then smaller by
    SHRINK_STEP per try; images with alpha stay PNG (the cut-out needs the alpha) and shrink
    the same way.
    """
    _register_heif()
    with Image.open(io.BytesIO(data)) as opened:
        # The EXIF orientation is lost in the re-encoding: apply it to the pixels first.
        image = ImageOps.exif_transpose(opened)
    alpha = _has_alpha(image)
    width, height = image.size
    scale = 1.0
    while True:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)
        encoded = _encode_shrunk(resized, alpha)
        if len(encoded) <= limit or size == (1, 1):
            break
        scale *= SHRINK_STEP
    kind = "PNG" if alpha else f"JPEG quality {SHRINK_QUALITY}"
    note = (
        f"the image ({len(data) / 1e6:.1f} MB, {width}x{height}) is over the API's "
        f"{limit / 1024 / 1024:g} MB upload limit: sent as {kind} at {size[0]}x{size[1]} "
        f"({len(encoded) / 1e6:.1f} MB)"
    )
    return Upload(encoded, "image/png" if alpha else "image/jpeg", note)


def _encode_shrunk(image: Image.Image, alpha: bool) -> bytes:
    buffer = io.BytesIO()
    if alpha:
        image.save(buffer, "PNG", optimize=True)
    else:
        image.convert("RGB").save(buffer, "JPEG", quality=SHRINK_QUALITY)
    return buffer.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "P") or "transparency" in image.info


def _register_heif() -> None:
    """Let Pillow open HEIC, so an iPhone photo over the limit can be shrunk too."""
    import pillow_heif  # imported here: most uploads are sent as they are

    pillow_heif.register_heif_opener(thumbnails=False)


def is_image_background(value: str | Path | bytes | Image.Image) -> bool:
    """A background that is an image to upload, rather than a colour or an uploaded URL."""
    if isinstance(value, Path | bytes | Image.Image):
        return True
    return not is_url(value) and Path(value).is_file()
