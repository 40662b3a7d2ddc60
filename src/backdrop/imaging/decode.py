"""Checking and decoding uploaded images.

Every failure on untrusted bytes becomes a `BackdropError` subclass: `UnsupportedMediaType` when
the bytes are not the declared type, `ImageTooLarge` when the header announces too many pixels
(refused before any pixel is decoded), `CorruptImage` when decoding fails or the container is
shaped to make decoding slow (see inspect.py, which runs before every decode here).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import IO

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from backdrop.errors import CorruptImage, ImageTooLarge, UnsupportedMediaType
from backdrop.imaging.formats import (
    PIL_FORMAT_BY_TYPE,
    SNIFF_LENGTH,
    SUPPORTED_TYPES,
    SUPPORTED_WORDS,
    describe_bytes,
    same_type,
    sniff_content_type,
    type_label,
)
from backdrop.imaging.inspect import ImageInfo, inspect_image

# Pillow opens HEIC/HEIF through pillow-heif's plugin; every decode of an upload (the upload
# check, its process pool, the worker) imports this module, so registering here covers them.
# Thumbnails are not needed: only the primary image is decoded.
pillow_heif.register_heif_opener(thumbnails=False)

# Modes that carry an alpha channel of their own.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# 16- and 32-bit integer grey modes: Pillow's convert() clips them at 255, so they are rescaled.
_WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})

_WHITE = (255, 255, 255)


def verify_image(path: Path, content_type: str, *, max_pixels: int) -> tuple[int, int]:
    """Check that the file at `path` is a whole, decodable `content_type` image; return its size."""
    return check_image(path, content_type, max_pixels=max_pixels).size


def check_image(path: Path, content_type: str, *, max_pixels: int) -> ImageInfo:
    """`verify_image`, answering what the container says (type, size, frames)."""
    # Uploads are at most a few MB; the inspection reads them whole anyway.
    data = path.read_bytes()
    info = _inspect_as(data, content_type, max_pixels=max_pixels)
    _check_complete(data, content_type)
    with _open_checked(io.BytesIO(data), content_type, max_pixels=max_pixels):
        return info


def inspect_file(path: Path, content_type: str, *, max_pixels: int) -> ImageInfo:
    """The cheap half of `check_image`: the type and the container, no pixel decoded.

    Milliseconds for any upload, so it may run where a decode may not (a request's thread).
    """
    return _inspect_as(path.read_bytes(), content_type, max_pixels=max_pixels)


def _inspect_as(data: bytes, content_type: str, *, max_pixels: int) -> ImageInfo:
    _check_type(data[:SNIFF_LENGTH], content_type)
    return inspect_image(data, max_pixels=max_pixels)


def load_image(source: bytes | Path, *, max_pixels: int, complete: bool = False) -> Image.Image:
    """Decode an image with the checks of `verify_image`, upright and in "RGB" or "RGBA".

    `complete` also refuses a JPEG whose data ends before its image does, as the upload
    check does: for bytes that did not pass it (straight to a bucket).

    The type is taken from the magic bytes. Alpha is kept whenever the format carries it
    (RGBA, LA, palette or grey/RGB with a transparency key), even if every pixel is opaque,
    so the result's mode depends only on the file's layout.
    """
    data = source.read_bytes() if isinstance(source, Path) else source
    head = data[:SNIFF_LENGTH]
    content_type = sniff_content_type(head)
    if content_type is None:
        raise UnsupportedMediaType(
            f"the bytes are not a {SUPPORTED_WORDS} image (they look like {describe_bytes(head)})"
        )
    inspect_image(data, max_pixels=max_pixels)
    if complete:
        _check_complete(data, content_type)
    image = _open_checked(io.BytesIO(data), content_type, max_pixels=max_pixels)
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


def _check_type(head: bytes, content_type: str) -> None:
    """Refuse an unsupported declared type, or bytes that are not of the declared type."""
    if content_type not in SUPPORTED_TYPES:
        raise UnsupportedMediaType(
            f"{content_type!r} is not supported; "
            "send image/jpeg, image/png, image/webp or image/heic"
        )
    if not same_type(content_type, sniff_content_type(head)):
        raise UnsupportedMediaType(
            f"the bytes are not a {type_label(content_type)} image "
            f"(they look like {describe_bytes(head)})"
        )


# libjpeg's warnings for scan data that runs out before the image is complete.
_JPEG_CUT_SHORT = ("premature end of data segment", "premature end of jpeg file")


def _check_complete(data: bytes, content_type: str) -> None:
    """Refuse a JPEG whose scan data ends before its image does.

    libjpeg decodes such a file anyway, the missing rows grey, and only warns; Pillow passes
    the warning on to no one, so a JPEG whose size field was enlarged (data for 854x480, a
    header for 6000x6000) would be accepted and charged. libjpeg-turbo through simplejpeg
    reports the warning; only running out of data refuses the file (other warnings, such as
    stray bytes before a marker, are common in cameras' files and harmless).
    """
    if content_type != "image/jpeg":
        return
    import simplejpeg  # here: only uploads and direct-upload orders pay for the import

    try:
        # Fast DCT and upsampling: only whether the data lasts matters, not the pixels.
        simplejpeg.decode_jpeg(data, strict=True, fastdct=True, fastupsample=True)
    except ValueError as error:
        if any(words in str(error).lower() for words in _JPEG_CUT_SHORT):
            raise CorruptImage(
                "the JPEG's data ends before its image does (a truncated or altered file)"
            ) from None


def _open_checked(file: IO[bytes], content_type: str, *, max_pixels: int) -> Image.Image:
    """Open `file` as `content_type`, refuse it if too large, then decode every pixel.

    The caller has checked the type and inspected the container (inspect.py).
    """
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
