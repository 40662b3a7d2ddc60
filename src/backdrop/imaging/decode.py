"""Checking and decoding uploaded images.

Every failure on untrusted bytes becomes a `BackdropError` subclass: `UnsupportedMediaType` when
the bytes are not the declared type, `ImageTooLarge` when the header announces too many pixels
(refused before any pixel is decoded), `CorruptImage` when decoding fails.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backdrop.errors import CorruptImage, ImageTooLarge, UnsupportedMediaType
from backdrop.imaging.formats import (
    PIL_FORMAT_BY_TYPE,
    SNIFF_LENGTH,
    SUPPORTED_TYPES,
    describe_bytes,
    sniff_content_type,
    type_label,
)

# Modes that carry an alpha channel of their own.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# 16- and 32-bit integer grey modes: Pillow's convert() clips them at 255, so they are rescaled.
_WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})

_WHITE = (255, 255, 255)


def verify_image(path: Path, content_type: str, *, max_pixels: int) -> tuple[int, int]:
    """Check that the file at `path` is a whole, decodable `content_type` image; return its size."""
    with path.open("rb") as file:
        head = file.read(SNIFF_LENGTH)
        file.seek(0)
        image = _open_checked(file, head, content_type, max_pixels=max_pixels)
        return image.size


def load_image(source: bytes | Path, *, max_pixels: int) -> Image.Image:
    """Decode an image with the checks of `verify_image`, upright and in "RGB" or "RGBA".

    The type is taken from the magic bytes. Alpha is kept whenever the format carries it
    (RGBA, LA, palette or grey/RGB with a transparency key), even if every pixel is opaque,
    so the result's mode depends only on the file's layout.
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    head = data[:SNIFF_LENGTH]
    content_type = sniff_content_type(head)
    if content_type is None:
        raise UnsupportedMediaType(
            f"the bytes are not a JPEG, PNG or WebP image (they look like {describe_bytes(head)})"
        )
    image = _open_checked(io.BytesIO(data), head, content_type, max_pixels=max_pixels)
    try:
        image = _upright(image)
        return _to_rgb_or_rgba(image)
    except Exception as error:
        raise CorruptImage(f"the image could not be converted: {error}") from error


def flatten_alpha(image: Image.Image) -> Image.Image:
    """The image as "RGB" (itself when it already is), any transparency composited over white.

    White, not black: transparent areas of uploaded product shots stand for "no background",
    and the segmentation models were trained mostly on photos with light, plain backdrops; a
    black fill would also leave dark fringes wherever edges are semi-transparent.
    """
    if not image.has_transparency_data:
        # Callers only read the result: no copy of a large photo per step.
        return image if image.mode == "RGB" else image.convert("RGB")
    rgba = image.convert("RGBA")
    backdrop = Image.new("RGB", rgba.size, _WHITE)
    backdrop.paste(rgba, mask=rgba.getchannel("A"))
    return backdrop


def _open_checked(
    file: IO[bytes], head: bytes, content_type: str, *, max_pixels: int
) -> Image.Image:
    """Open `file` as `content_type`, refuse it if too large, then decode every pixel."""
    if content_type not in SUPPORTED_TYPES:
        raise UnsupportedMediaType(
            f"{content_type!r} is not supported; send image/jpeg, image/png or image/webp"
        )
    if sniff_content_type(head) != content_type:
        raise UnsupportedMediaType(
            f"the bytes are not a {type_label(content_type)} image "
            f"(they look like {describe_bytes(head)})"
        )
    try:
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; as an error the
        # warning stops the open before any pixel buffer is allocated.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file, formats=[PIL_FORMAT_BY_TYPE[content_type]])
            width, height = image.size
            if width * height > max_pixels:
                raise ImageTooLarge(
                    f"the image is {width}x{height} ({width * height} pixels); "
                    f"the limit is {max_pixels} pixels"
                )
            if width <= 0 or height <= 0:
                raise CorruptImage(f"the image header claims an empty size {width}x{height}")
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageTooLarge(
            f"the image has more pixels than the limit of {max_pixels}: {error}"
        ) from error
    except (ImageTooLarge, CorruptImage):
        raise
    except Exception as error:
        # Pillow signals bad data with OSError, SyntaxError, ValueError, struct.error, EOFError,
        # zlib.error...; none of them may reach the client as anything but a corrupt image.
        raise CorruptImage(
            f"the {type_label(content_type)} image is truncated or corrupt: {_reason(error)}"
        ) from error
    return image


def _reason(error: Exception) -> str:
    """Pillow's reason, without the file it names: "cannot identify image file
    <_io.BufferedReader name='/srv/...'>" would tell a client where uploads are kept."""
    if isinstance(error, UnidentifiedImageError):
        return "Pillow cannot identify it"
    return str(error)


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; an unreadable EXIF block leaves the image as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except Exception:
        # The pixels decoded fine; a broken orientation tag is not worth refusing the image.
        return image


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    """Convert any decoded mode to "RGB", or "RGBA" when the image carries transparency."""
    mode = image.mode
    if mode == "RGBA":
        return image
    if mode == "RGB":
        return _rgb_with_key(image) if "transparency" in image.info else image
    if mode in _WIDE_GREY_MODES:
        return _wide_grey_to_rgb(image)
    if mode in _ALPHA_MODES or "transparency" in image.info:
        return image.convert("RGBA")
    # CMYK, YCbCr, L, 1 and opaque palettes; Pillow inverts Adobe CMYK JPEGs when it decodes.
    return image.convert("RGB")


def _wide_grey_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit (or 32-bit integer) grey to 8-bit RGB, scaling the full range instead of clipping.

    A transparency key (a 16-bit grey value in a PNG tRNS chunk) becomes an alpha channel,
    compared on the 16-bit values so no near-equal grey turns transparent.
    """
    raw = np.asarray(image)
    grey = np.clip(np.rint(raw.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    rgb = Image.fromarray(grey).convert("RGB")
    key = image.info.get("transparency")
    if isinstance(key, int):
        rgb.putalpha(Image.fromarray(np.where(raw == key, 0, 255).astype(np.uint8)))
    return rgb


def _rgb_with_key(image: Image.Image) -> Image.Image:
    """An RGB image with a transparency key (PNG tRNS) as RGBA, transparent where it matches.

    Pillow decodes 16-bit RGB to 8 bits but reports the key in 16 bits; then the key's high
    bytes are compared, as the decoded pixels are.
    """
    key = image.info.get("transparency")
    if not (isinstance(key, tuple) and len(key) == 3 and all(isinstance(v, int) for v in key)):
        return image
    if max(key) > 255:
        key = tuple(value >> 8 for value in key)
    pixels = np.asarray(image)
    alpha = np.where((pixels == np.asarray(key, dtype=np.uint8)).all(axis=2), 0, 255)
    rgba = image.copy()
    rgba.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    return rgba
