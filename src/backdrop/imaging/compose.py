"""Putting a subject (an RGB image and its alpha matte) onto a background, and encoding results.

Mattes are `numpy` arrays of dtype uint8 and shape (height, width), 255 where the subject is.
A matte of the wrong shape is a programming error and raises `ValueError`.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Iterator

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from backdrop.imaging.colors import RGBA
from backdrop.imaging.decode import flatten_alpha

Alpha = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


def cutout(image: Pixels, alpha: Alpha) -> Image.Image:
    """The subject alone: an "RGBA" image whose alpha is the matte.

    Fully transparent pixels are (0, 0, 0, 0): their colour cannot be seen, and the old
    background's noise left there would double the PNG's size and its encoding time.
    Made a strip of rows at a time: no full-size RGBA copies besides the result.
    """
    _check_matte(image, alpha)

    def rgba_rows(top: int, bottom: int) -> UInt8Array:
        rows_alpha = alpha[top:bottom]
        rgba = np.empty((bottom - top, image.width, 4), np.uint8)
        rgba[..., :3] = _rgb_rows(image, top, bottom)
        rgba[..., 3] = rows_alpha
        rgba[rows_alpha == 0] = 0
        return rgba

    return _build_in_strips("RGBA", image.size, rgba_rows)


def on_color(image: Pixels, alpha: Alpha, rgba: RGBA) -> Image.Image:
    """The subject over a solid colour: "RGB" if the colour is opaque, else "RGBA"."""
    _check_matte(image, alpha)
    # The colour once per pixel of a row, so that arithmetic with (rows, width, 3) strips runs
    # over contiguous memory rather than broadcasting along a 3-long axis (~3x slower).
    color = np.tile(np.asarray(rgba[:3], dtype=np.float32), (image.width, 1))
    back = rgba[3] / 255.0

    def opaque_rows(top: int, bottom: int) -> UInt8Array:
        front = _unit_alpha(alpha[top:bottom])
        blended = _float_rows(image, top, bottom)
        blended *= front
        behind = np.subtract(np.float32(1.0), front, out=front)
        behind *= color
        blended += behind
        return _to_uint8(blended)

    def translucent_rows(top: int, bottom: int) -> UInt8Array:
        # Porter-Duff "over" with a translucent backdrop, in straight (unpremultiplied) alpha.
        front = _unit_alpha(alpha[top:bottom])
        behind = np.float32(1.0) - front
        out_alpha = behind * np.float32(back)
        out_alpha += front
        premultiplied = _float_rows(image, top, bottom)
        premultiplied *= front
        behind *= color * back
        premultiplied += behind
        # Where out_alpha is 0 (no subject, a transparent colour) premultiplied is 0 too.
        np.divide(premultiplied, out_alpha, out=premultiplied, where=out_alpha > 0)
        out_alpha *= np.float32(255.0)
        return np.concatenate([_to_uint8(premultiplied), _to_uint8(out_alpha[..., :1])], axis=2)

    if rgba[3] == 255:
        return _build_in_strips("RGB", image.size, opaque_rows)
    return _build_in_strips("RGBA", image.size, translucent_rows)


def on_image(image: Pixels, alpha: Alpha, background: Image.Image) -> Image.Image:
    """The subject over `background`, which is scaled to cover the image and centre-cropped."""
    _check_matte(image, alpha)
    backdrop = flatten_alpha(background)
    if backdrop.size != image.size:
        backdrop = ImageOps.fit(backdrop, image.size, method=Image.Resampling.LANCZOS)

    def blended_rows(top: int, bottom: int) -> UInt8Array:
        front = _unit_alpha(alpha[top:bottom])
        blended = _float_rows(image, top, bottom)
        blended *= front
        behind = _float_rows(backdrop, top, bottom)
        behind *= np.subtract(np.float32(1.0), front, out=front)
        blended += behind
        return _to_uint8(blended)

    return _build_in_strips("RGB", image.size, blended_rows)


def estimate_foreground(image: Image.Image, alpha: Alpha) -> Image.Image:
    """The subject's own colours, without the old background mixed into its soft edges.

    Where alpha is strictly between 0 and 1 a pixel is a mix of subject and old background;
    composited as is onto a new background, it shows a fringe of the old one. This solves
    `image = alpha * F + (1 - alpha) * B` for F with blurred local estimates of F and B
    (Forte & Pitie, "Approximate fast foreground colour estimation", ICIP 2021: two passes
    of box blurs, radius 90 then 6). The blurred estimates are smooth, so they are made at
    about 0.25 MP and enlarged; the final per-pixel correction uses the full-size image, one
    strip of rows at a time.

    The matte says opaque for many edge pixels that still carry the old background (a green
    glow of foliage between hairs): the model's edge is a pixel or two off, and the sure
    regions are made fully sure. So opaque pixels in a thin band along the edge
    (`_band_rows`) get their share of the subject from their colour instead: the
    projection of `I - B'` on `F' - B'` where the two estimates differ enough to tell, and
    that share takes the place of alpha in the correction. The alpha itself is not changed.
    Other opaque pixels keep their colour exactly, and so do transparent ones (no composite
    shows them); an image without soft or edge pixels is returned as is.
    """
    _check_matte(image, alpha)
    foreground = Foreground(image, alpha)
    if foreground.unchanged:
        return image.convert("RGB")
    return _build_in_strips("RGB", image.size, foreground.rows)


class Foreground:
    """`estimate_foreground` made a strip of rows at a time, when a compositing function reads
    them (`cutout`, `on_color` and `on_image` take it in place of an image): the subject's
    colours are never held at full size (160 MB at 40 MP) beside the composite.

    What is kept is small: the blurred estimates at their working size, enlarged to full
    height (~1 byte a pixel for the two); the edge band is found per strip, not stored.
    """

    def __init__(self, image: Image.Image, alpha: Alpha) -> None:
        _check_matte(image, alpha)
        self._image = image
        self._alpha = alpha
        self.size = image.size
        self.width, self.height = image.size
        self._band_width = _band_width(alpha)
        # An image without soft or edge pixels is given back as it is: nothing to estimate.
        self.unchanged = not _has_edge(alpha)
        if not self.unchanged:
            self._large_f, self._large_b = self._estimates()

    def _estimates(self) -> tuple[_Enlarger, _Enlarger]:
        """F' and B' (`_blur_fusion`) at about `_FOREGROUND_WORKING_PIXELS`, to be enlarged."""
        image, alpha = self._image, self._alpha
        width, height = self.size
        shrink = min(1.0, (_FOREGROUND_WORKING_PIXELS / (height * width)) ** 0.5)
        small_size = (max(1, round(width * shrink)), max(1, round(height * shrink)))
        if shrink < 1.0:
            small, small_a = _shrink_unit(image, alpha, small_size)
        else:
            small = _float_rows(image, 0, height) / np.float32(255.0)
            small_a = _unit_alpha(alpha, channels=1)
        # The subject's colour is learnt away from the band, whose pixels may hold the old one.
        core = _erode_unit(small_a, max(1, round(self._band_width * shrink)))
        blurred_f, blurred_b = _blur_fusion(small, small_a, core)
        return _Enlarger(blurred_f, self.size), _Enlarger(blurred_b, self.size)

    def rows(self, top: int, bottom: int) -> UInt8Array:
        """Rows `top:bottom` of the estimated foreground, uint8 (rows, width, 3)."""
        original = _rgb_rows(self._image, top, bottom)
        if self.unchanged:
            return original
        rows_alpha = self._alpha[top:bottom]
        # Only soft and edge-band pixels change (~1-5% of a photo): opaque ones keep their
        # colour and transparent ones show through no composite, so they are not computed.
        edge = _band_rows(self._alpha, self._band_width, top, bottom)
        changed = edge | ((rows_alpha > 0) & (rows_alpha < 255))
        if not changed.any():
            return original
        pixels = original[changed].astype(np.float32)
        pixels /= np.float32(255.0)
        a = (rows_alpha[changed].astype(np.float32) / np.float32(255.0))[:, np.newaxis]
        f = self._large_f.rows(top, bottom)[changed]
        b = self._large_b.rows(top, bottom)[changed]
        on_edge = edge[changed]
        a[on_edge] = _colour_share(pixels[on_edge], f[on_edge], b[on_edge])
        foreground = _correct(pixels, a, f, b)
        np.copyto(foreground, pixels, where=a == 1.0)  # opaque pixels exactly as they were
        foreground *= np.float32(255.0)
        result = original.copy()
        result[changed] = _to_uint8(foreground)
        return result


# What the compositing functions read pixels from: an image, or the foreground as it is made.
Pixels = Image.Image | Foreground


# Measured against 0.5 MP on 1 MP composites made in the tests: 45 ms less (186 -> 141 ms on
# an AVX2 EPYC) and less of the old background left in soft edges (mean error 3.08 -> 2.61
# grey levels on a wide ramp, 13.6 -> 11.6 on thin strands over green): the radius-6 pass
# then spans more of the photo, so each estimate rests on more pure pixels.
_FOREGROUND_WORKING_PIXELS = 250_000
# The band of opaque edge pixels whose colour is checked for the old background: this many
# pixels per 1000 of the image's shorter side (4 px at 1 MP), at least 2.
_BAND_PER_1000 = 4
# Below this distance between the local subject and background colours (RGB, 0..1) a pixel's
# colour says nothing about how much of each it holds; such pixels are left as they are.
_MIN_COLOUR_CONTRAST = 0.15
# An opaque pixel is taken to hold at least this share of the subject, whatever its colour.
_MIN_SUBJECT_SHARE = 0.5
_SURE_SHARE = 0.85


def _has_edge(alpha: Alpha) -> bool:
    """Whether the matte has a soft pixel, or both opaque and transparent ones: read a strip
    at a time, so no full-size boolean copies are made."""
    height, width = alpha.shape
    opaque = not_opaque = False
    for top, bottom in _strips(width, height):
        rows = alpha[top:bottom]
        if np.any((rows > 0) & (rows < 255)):
            return True
        opaque = opaque or bool(np.any(rows == 255))
        not_opaque = not_opaque or bool(np.any(rows < 255))
    return opaque and not_opaque


def _band_rows(alpha: Alpha, width: int, top: int, bottom: int) -> npt.NDArray[np.bool_]:
    """Rows `top:bottom` of the decontamination band. The dilation reads `width` rows either
    side (its radius) and none beyond, so a strip dilated with that margin is exact."""
    import cv2

    above, below = max(0, top - width), min(alpha.shape[0], bottom + width)
    not_opaque = np.less(alpha[above:below], 255).view(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    near = cv2.dilate(not_opaque, kernel)[top - above : bottom - above]
    band: npt.NDArray[np.bool_] = (near > 0) & (not_opaque[top - above : bottom - above] == 0)
    return band


def _band_width(alpha: Alpha) -> int:
    shorter = int(min(alpha.shape[:2]))
    return max(2, round(shorter * _BAND_PER_1000 / 1000))


def _erode_unit(small_a: FloatArray, width: int) -> FloatArray:
    """1 where `small_a` (h, w, 1) is opaque `width` pixels from anything that is not, else 0."""
    import cv2

    opaque = (small_a[..., 0] >= np.float32(0.999)).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    inner: FloatArray = cv2.erode(opaque, kernel).astype(np.float32)[..., np.newaxis]
    return inner


def _colour_share(pixels: FloatArray, blurred_f: FloatArray, blurred_b: FloatArray) -> FloatArray:
    """How much of the subject each pixel holds by its colour: the position of the pixel
    between the local background and subject colours, `(I - B').(F' - B') / |F' - B'|^2`,
    from `_MIN_SUBJECT_SHARE` to 1 (1 where the two colours are too close to tell)."""
    direction = blurred_f - blurred_b
    spread = np.einsum("...c,...c->...", direction, direction)
    along = np.einsum("...c,...c->...", pixels - blurred_b, direction)
    share = np.ones_like(spread)
    telling = spread >= _MIN_COLOUR_CONTRAST**2
    np.divide(along, spread, out=share, where=telling)
    # Texture moves a pure subject pixel along that line too: shares from _SURE_SHARE up
    # count as 1 (the subject's own colour is kept), and the rest are scaled to meet them.
    share /= np.float32(_SURE_SHARE)
    np.clip(share, _MIN_SUBJECT_SHARE, 1.0, out=share)
    result: FloatArray = share[..., np.newaxis].astype(np.float32, copy=False)
    return result  # (..., 1): one share for the three channels


# Full-size work is done this many pixels at a time (about 43 rows of a 6000 px wide photo):
# each float32 (rows, width, 3) temporary is then ~3 MB instead of ~290 MB for 24 MP, and
# stays in cache while the few arithmetic passes over it run.
_STRIP_PIXELS = 1 << 18


def _blur_fusion(
    small: FloatArray, small_a: FloatArray, core: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """The blurred foreground and background estimates F' and B' of the two passes.

    F' weighs soft pixels by their alpha and opaque ones only where `core` is 1 (away from
    the edge band); where no such pixel is near, the previous, wider estimate stands (for
    the first pass: the pixel's own colour).
    """
    import cv2

    def blur(x: FloatArray, size: int) -> FloatArray:
        blurred: FloatArray = np.asarray(
            cv2.blur(x, (size, size), borderType=cv2.BORDER_REFLECT), dtype=np.float32
        )
        return blurred.reshape(x.shape)

    weight_f = np.where(small_a < 0.999, small_a, core).astype(np.float32, copy=False)
    # The (h, w, 1) planes are blurred as they are (a third of the work) and spread to three
    # equal channels before they meet the colours: the same numbers, bit for bit, in 12 ms
    # instead of 21 ms at 0.25 MP (Zen 4), because broadcasting a 1-long last axis is slow.
    a3, weight_f3 = _three_channels(small_a), _three_channels(weight_f)
    background_share = 1 - a3
    foreground, background = small, small
    blurred_f = blurred_b = small
    for radius in (90, 6):
        size = 2 * radius + 1
        blurred_a = _three_channels(blur(small_a, size))
        blurred_w = _three_channels(blur(weight_f, size))
        weighted_f = foreground * weight_f3
        weighted_b = background * background_share
        blurred_f = blurred_f.copy()
        np.divide(blur(weighted_f, size), blurred_w, out=blurred_f, where=blurred_w > 1e-3)
        blurred_b = (blur(weighted_b, size) / (1.00001 - blurred_a)).astype(np.float32)
        foreground = _correct(small, a3, blurred_f, blurred_b)
        background = blurred_b
    return blurred_f, blurred_b


def _correct(
    pixels: FloatArray, a: FloatArray, blurred_f: FloatArray, blurred_b: FloatArray
) -> FloatArray:
    """The per-pixel step of the blur-fusion estimator: F = F' + a (I - a F' - (1 - a) B').

    Evaluated in place in one buffer, in the order the formula reads, so it rounds the same.
    """
    corrected: FloatArray = a * blurred_f
    np.subtract(pixels, corrected, out=corrected)
    corrected -= (1 - a) * blurred_b
    corrected *= a
    corrected += blurred_f
    np.clip(corrected, 0.0, 1.0, out=corrected)
    return corrected


def _shrink_unit(
    image: Image.Image, alpha: Alpha, size: tuple[int, int]
) -> tuple[FloatArray, FloatArray]:
    """`cv2.resize(INTER_AREA)` to `size` of the image and of its matte, both in [0, 1].

    Area averaging is separable, so it is done in two cv2 passes: each strip of rows is
    shrunk across on its own, then the narrow full-height result is shrunk down. No float
    copy of the full-size image is ever made (the narrow ones are ~55 MB for 24 MP).
    """
    import cv2

    width, height = image.size
    narrow_width = size[0]
    narrow = np.empty((height, narrow_width, 3), np.float32)
    narrow_a = np.empty((height, narrow_width), np.float32)
    for top, bottom in _strips(width, height):
        rows = _float_rows(image, top, bottom)
        rows /= np.float32(255.0)
        rows_a = alpha[top:bottom].astype(np.float32)
        rows_a /= np.float32(255.0)
        across = (narrow_width, bottom - top)
        narrow[top:bottom] = cv2.resize(rows, across, interpolation=cv2.INTER_AREA).reshape(
            bottom - top, narrow_width, 3
        )
        narrow_a[top:bottom] = cv2.resize(rows_a, across, interpolation=cv2.INTER_AREA).reshape(
            bottom - top, narrow_width
        )
    small: FloatArray = np.asarray(cv2.resize(narrow, size, interpolation=cv2.INTER_AREA))
    small_a: FloatArray = np.asarray(cv2.resize(narrow_a, size, interpolation=cv2.INTER_AREA))
    return small.reshape(size[1], size[0], 3), small_a.reshape(size[1], size[0], 1)


class _Enlarger:
    """Strips of `cv2.resize(small, size, INTER_LINEAR)`, without the full-size result.

    Bilinear resizing is separable: `small` is enlarged down once, keeping its width (~40 MB
    for 24 MP), then each strip of rows is enlarged across as it is needed.
    """

    def __init__(self, small: FloatArray, size: tuple[int, int]) -> None:
        import cv2

        self._width = size[0]
        self._tall: FloatArray = np.asarray(
            cv2.resize(small, (small.shape[1], size[1]), interpolation=cv2.INTER_LINEAR),
            np.float32,
        ).reshape(size[1], small.shape[1], -1)

    def rows(self, top: int, bottom: int) -> FloatArray:
        import cv2

        enlarged: FloatArray = np.asarray(
            cv2.resize(
                self._tall[top:bottom], (self._width, bottom - top), interpolation=cv2.INTER_LINEAR
            ),
            np.float32,
        ).reshape(bottom - top, self._width, -1)
        return enlarged


def mask_image(alpha: Alpha) -> Image.Image:
    """The matte as a greyscale "L" image."""
    if alpha.ndim != 2:
        raise ValueError(f"a matte must be 2-D, got shape {alpha.shape}")
    return Image.fromarray(np.ascontiguousarray(alpha, dtype=np.uint8))


# zlib level 2, not Pillow's 6: at 6 the encode alone took as long as the int8 model.
PNG_COMPRESS_LEVEL = 2
# zlib's run-length strategy, not its default string matching: after PNG's row filters a
# result is mostly runs (transparent pixels, flat mask areas), and at level 2 the matcher
# finds little else. 1 MP cutout (bench/png_encode.py, Zen 4): 67 ms and 962 KB with the
# default strategy, 59 ms and 839 KB with this one (Pillow's level 6: 239 ms, 844 KB).
PNG_COMPRESS_TYPE = zlib.Z_RLE


def encode_png(image: Image.Image) -> bytes:
    """The image as PNG bytes (alpha kept)."""
    buffer = io.BytesIO()
    # Pillow's `compress_type` is the zlib strategy.
    image.save(
        buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL, compress_type=PNG_COMPRESS_TYPE
    )
    return buffer.getvalue()


def encode_jpeg(image: Image.Image, quality: int = 92) -> bytes:
    """The image as JPEG bytes; JPEG has no alpha, so transparency is flattened onto white."""
    buffer = io.BytesIO()
    flat = image if image.mode == "L" else flatten_alpha(image)
    flat.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _check_matte(image: Pixels, alpha: Alpha) -> None:
    expected = (image.height, image.width)
    if alpha.shape != expected:
        raise ValueError(f"matte shape {alpha.shape} does not match image size {expected}")
    if alpha.dtype != np.uint8:
        raise ValueError(f"a matte must be uint8, got {alpha.dtype}")


def _strips(width: int, height: int) -> Iterator[tuple[int, int]]:
    """(top, bottom) rows of the strips, of about `_STRIP_PIXELS` each, covering the image."""
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        yield top, min(top + rows, height)


def _build_in_strips(
    mode: str, size: tuple[int, int], strip: Callable[[int, int], UInt8Array]
) -> Image.Image:
    """An image of `mode` and `size` assembled from `strip(top, bottom)`, one strip at a time."""
    width, height = size
    result = Image.new(mode, size)
    for top, bottom in _strips(width, height):
        result.paste(Image.fromarray(strip(top, bottom)), (0, top))
    return result


def _rgb_rows(image: Pixels, top: int, bottom: int) -> UInt8Array:
    """Rows `top:bottom` of the image (or of the foreground being made) in RGB as uint8
    (rows, width, 3).

    Only the strip is converted to RGB: converting the whole image first would copy it all
    (an "RGB" image's `convert("RGB")` copies too, ~100 MB for 24 MP).
    """
    if isinstance(image, Foreground):
        return image.rows(top, bottom)
    rows = image.crop((0, top, image.width, bottom))
    pixels: UInt8Array = np.asarray(rows if rows.mode == "RGB" else rows.convert("RGB"))
    return pixels


def _float_rows(image: Pixels, top: int, bottom: int) -> FloatArray:
    """`_rgb_rows` as float32, 0 to 255."""
    return _rgb_rows(image, top, bottom).astype(np.float32)


def _unit_alpha(alpha: Alpha, channels: int = 3) -> FloatArray:
    """The matte as float32 (rows, width, channels), 0 to 1.

    Three equal channels by default: arithmetic with (rows, width, 3) pixels then runs over
    contiguous memory instead of broadcasting along a 3-long last axis, which is ~3x slower.
    """
    unit: FloatArray = alpha.astype(np.float32)
    unit /= np.float32(255.0)
    if channels == 3:
        return _three_channels(unit)
    return unit.reshape(*alpha.shape, channels)


def _three_channels(plane: FloatArray) -> FloatArray:
    """A float32 (h, w) or (h, w, 1) plane as (h, w, 3), the plane in each channel."""
    import cv2

    flat = np.ascontiguousarray(plane.reshape(plane.shape[:2]), dtype=np.float32)
    spread: FloatArray = np.asarray(cv2.cvtColor(flat, cv2.COLOR_GRAY2RGB), np.float32)
    return spread.reshape(*plane.shape[:2], 3)


def _to_uint8(values: FloatArray) -> UInt8Array:
    """Round float pixels to the nearest integer in 0..255 (in place, then one uint8 copy)."""
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)
