"""A cheap look at an image's container before any pixel is decoded.

Decoding cost is not bounded by the file size: a 1.35 MB progressive JPEG of 6144x6144 grey
made of thousands of identical empty scans takes libjpeg about a minute, because every scan
walks the whole coefficient buffer again. This module walks the container's structure (JPEG
markers, PNG chunks, WebP RIFF chunks, HEIF boxes) in time linear in the file size and refuses
what no normal encoder writes, before a decoder gets to spend CPU on it. Errors are domain errors;
their messages name the image, never a server path.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

from backdrop.errors import BackdropError, CorruptImage, ImageTooLarge, UnsupportedMediaType
from backdrop.imaging.formats import (
    SUPPORTED_WORDS,
    describe_bytes,
    heif_brands,
    sniff_content_type,
)

# Progressive encoders write about 10 scans (libjpeg's default script: 10 for colour, 6 for
# grey; mozjpeg's optimised scripts stay under 20) and baseline files one per component at
# most. 32 leaves room for any real encoder while bounding the decode to 32 passes over the
# coefficients; the reported attack used thousands.
MAX_JPEG_SCANS = 32
# Marker segments of all kinds (APPn, DQT, DHT, SOS...). A photo has tens; a large ICC profile
# split into 64 KB APP2 pieces adds about 80 per 5 MB. Pillow parses the headers in Python.
MAX_JPEG_SEGMENTS = 1024
# PNG and WebP chunks: encoders write image data in pieces of 8 KB or more (libpng: 8 KB,
# Pillow: 64 KB), so one chunk per KiB of file plus a fixed allowance is far above any real
# file and still refuses files of thousands of tiny chunks, each of which costs Python work in
# Pillow's reader.
CHUNKS_BASE = 1024
BYTES_PER_CHUNK = 1024
# Only the first frame of an animation is used (Pillow decodes frame 0 and no other), but a
# long animation is never needed and libwebp's demuxer indexes every frame when it opens one.
MAX_FRAMES = 100
# HEIF boxes walked (top level and inside `meta`): a phone photo has about 10 top-level and 10
# meta boxes; items (the tiles of a grid, thumbnails, Exif) are about 50 for 12 MP. Each item
# is a separate HEVC stream libheif sets up, so their count bounds the decode's fixed costs.
MAX_HEIF_BOXES = 256
MAX_HEIF_ITEMS = 1024

_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # C4 DHT, C8 JPG, CC DAC
_JPEG_STANDALONE = frozenset(range(0xD0, 0xD8)) | {0x01}  # RSTn and TEM have no length
_JPEG_SOS = 0xDA
_JPEG_EOI = 0xD9
# After a scan's entropy-coded data: a run of 0xFF, then a byte that is not a stuffed zero,
# a restart marker or more fill, i.e. the next marker.
_NEXT_MARKER = re.compile(rb"\xff+([^\x00\xd0-\xd7\xff])")
_PNG_CHUNK_NAME = re.compile(rb"[A-Za-z]{4}")


@dataclass(frozen=True)
class ImageInfo:
    """What the container says: the type, the size of the (first) frame's canvas, frames."""

    content_type: str
    width: int
    height: int
    frames: int = 1

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)


def inspect_image(data: bytes, *, max_pixels: int) -> ImageInfo:
    """The container facts of `data` (typed by its magic bytes), or a domain error."""
    content_type = sniff_content_type(data[:32])
    if content_type is None:
        raise UnsupportedMediaType(
            f"the bytes are not a {SUPPORTED_WORDS} image (they look like {describe_bytes(data)})"
        )
    inspect: Callable[[bytes, int], ImageInfo] = _INSPECTORS[content_type]
    try:
        return inspect(data, max_pixels)
    except BackdropError:
        raise
    except (struct.error, IndexError, ValueError) as error:
        # A header cut short; the walkers check lengths, this is the net under them.
        raise CorruptImage(f"the image's structure is damaged: {error}") from error


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse an empty or too large canvas, with the words the decoder's check uses."""
    if width <= 0 or height <= 0:
        raise CorruptImage(f"the image header claims an empty size {width}x{height}")
    if width * height > max_pixels:
        raise ImageTooLarge(
            f"the image is {width}x{height} ({width * height} pixels); "
            f"the limit is {max_pixels} pixels"
        )


def _chunk_limit(data: bytes) -> int:
    return CHUNKS_BASE + len(data) // BYTES_PER_CHUNK


# --- JPEG ---------------------------------------------------------------------------------


def _inspect_jpeg(data: bytes, max_pixels: int) -> ImageInfo:
    """Walk the markers: count segments and scans, read the frame header (SOF)."""
    size: tuple[int, int] | None = None
    scans = segments = 0
    position = 2  # after SOI
    while position < len(data):
        marker, position = _jpeg_marker(data, position, scanned=scans > 0)
        if marker is None or marker == _JPEG_EOI:
            break
        if marker in _JPEG_STANDALONE:
            continue
        if position + 2 > len(data):
            break  # cut inside a marker: the decoder reports the truncation
        length = struct.unpack_from(">H", data, position)[0]
        if length < 2:
            raise CorruptImage(f"the JPEG image has a marker segment of length {length}")
        segments += 1
        if segments > MAX_JPEG_SEGMENTS:
            raise CorruptImage(
                f"the JPEG image has more than {MAX_JPEG_SEGMENTS} marker segments; "
                "no camera or editor writes that many"
            )
        if marker in _JPEG_SOF:
            size = _jpeg_frame_size(data, position, max_pixels)
        elif marker == _JPEG_SOS:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise CorruptImage(
                    f"the JPEG image has more than {MAX_JPEG_SCANS} scans; "
                    "progressive encoders write about 10"
                )
            if size is None:
                raise CorruptImage("the JPEG image has a scan before its frame header")
        position += length
    if size is None:
        raise CorruptImage("the JPEG image has no frame header (SOF)")
    return ImageInfo("image/jpeg", *size)


def _jpeg_marker(data: bytes, position: int, *, scanned: bool) -> tuple[int | None, int]:
    """The next marker at or after `position` and where its segment starts.

    Before the first scan a marker must follow at once (Pillow's header reader insists too);
    after it, entropy-coded data (and any stray bytes, which libjpeg skips) come first.
    """
    if scanned:
        found = _NEXT_MARKER.search(data, position)
        if found is None:
            return None, len(data)
        return found.group(1)[0], found.end()
    if data[position] != 0xFF:
        raise CorruptImage("the JPEG image has bytes where a marker should be")
    while position < len(data) and data[position] == 0xFF:
        position += 1  # fill bytes
    if position >= len(data):
        return None, position
    return data[position], position + 1


def _jpeg_frame_size(data: bytes, position: int, max_pixels: int) -> tuple[int, int]:
    # Segment: length (2), precision (1), height (2), width (2), components (1)...
    height, width = struct.unpack_from(">HH", data, position + 3)
    check_pixels(width, height, max_pixels)
    return width, height


# --- PNG ----------------------------------------------------------------------------------


def _inspect_png(data: bytes, max_pixels: int) -> ImageInfo:
    """Walk the chunks: IHDR first, sane lengths, some IDAT, a bounded count and frames."""
    limit = _chunk_limit(data)
    size: tuple[int, int] | None = None
    chunks = frame_controls = declared_frames = 0
    has_data = False
    position = 8  # after the signature
    while position + 8 <= len(data):
        length, name = struct.unpack_from(">I4s", data, position)
        if length > 0x7FFF_FFFF or not _PNG_CHUNK_NAME.fullmatch(name):
            raise CorruptImage("the PNG image has a damaged chunk header")
        chunks += 1
        if chunks > limit:
            raise CorruptImage(f"the PNG image has more than {limit} chunks for its size")
        if chunks == 1:
            if name != b"IHDR" or length != 13:
                raise CorruptImage("the PNG image does not start with its header chunk (IHDR)")
            size = _png_header_size(data, position + 8, max_pixels)
        elif name == b"IDAT":
            has_data = True
        elif name == b"acTL" and length >= 8:
            declared_frames = struct.unpack_from(">I", data, position + 8)[0]
        elif name == b"fcTL":
            frame_controls += 1
        elif name == b"IEND":
            break
        position += 12 + length  # length, name, payload, CRC
    if size is None:
        raise CorruptImage("the PNG image has no header chunk (IHDR)")
    if not has_data:
        raise CorruptImage("the PNG image has no image data (IDAT)")
    frames = max(1, declared_frames, frame_controls)
    _check_frames(frames, "PNG")
    return ImageInfo("image/png", *size, frames=frames)


def _png_header_size(data: bytes, position: int, max_pixels: int) -> tuple[int, int]:
    width, height = struct.unpack_from(">II", data, position)
    check_pixels(width, height, max_pixels)
    return width, height


# --- WebP ---------------------------------------------------------------------------------


def _inspect_webp(data: bytes, max_pixels: int) -> ImageInfo:
    """Walk the RIFF chunks: the first one gives the canvas, count chunks and frames."""
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 > len(data):
        raise CorruptImage("the WebP image is truncated (shorter than its RIFF header says)")
    end = riff_size + 8
    limit = _chunk_limit(data)
    size: tuple[int, int] | None = None
    chunks = frames = 0
    has_data = False
    position = 12  # after RIFF, size, WEBP
    while position + 8 <= end:
        name, length = struct.unpack_from("<4sI", data, position)
        payload = position + 8
        if payload + length > end:
            raise CorruptImage("the WebP image has a chunk that runs past its end")
        chunks += 1
        if chunks > limit:
            raise CorruptImage(f"the WebP image has more than {limit} chunks for its size")
        if chunks == 1:
            size = _webp_canvas(name, data[payload : payload + length], max_pixels)
        if name in (b"VP8 ", b"VP8L"):
            has_data = True
        elif name == b"ANMF":
            frames += 1
            has_data = True
        position = payload + length + (length & 1)  # chunks are padded to an even size
    if size is None or not has_data:
        raise CorruptImage("the WebP image has no image data")
    frames = max(1, frames)
    _check_frames(frames, "WebP")
    return ImageInfo("image/webp", *size, frames=frames)


def _webp_canvas(name: bytes, payload: bytes, max_pixels: int) -> tuple[int, int]:
    """The canvas size from the first chunk: VP8X (extended), VP8L (lossless) or VP8 (lossy)."""
    if name == b"VP8X" and len(payload) >= 10:
        width = 1 + int.from_bytes(payload[4:7], "little")
        height = 1 + int.from_bytes(payload[7:10], "little")
    elif name == b"VP8L" and len(payload) >= 5 and payload[0] == 0x2F:
        bits = int.from_bytes(payload[1:5], "little")
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif name == b"VP8 " and len(payload) >= 10 and payload[3:6] == b"\x9d\x01\x2a":
        width = int.from_bytes(payload[6:8], "little") & 0x3FFF
        height = int.from_bytes(payload[8:10], "little") & 0x3FFF
    else:
        raise CorruptImage("the WebP image does not start with an image header chunk")
    check_pixels(width, height, max_pixels)
    return width, height


def _check_frames(frames: int, label: str) -> None:
    if frames > MAX_FRAMES:
        raise CorruptImage(
            f"the {label} image is an animation of {frames} frames; only the first frame is "
            f"used and at most {MAX_FRAMES} are accepted"
        )


# --- HEIF (HEIC) ---------------------------------------------------------------------------


def _inspect_heif(data: bytes, max_pixels: int) -> ImageInfo:
    """Walk the ISO-BMFF boxes: ftyp, then `meta`'s primary item and its `ispe` (its size).

    Every `ispe` is checked against the pixel limit, not only the primary's: libheif may set
    up any item (a grid's tiles, thumbnails), so none may claim an absurd size.
    """
    brands = heif_brands(data[:256])
    if brands is None:
        raise CorruptImage("the HEIF image does not start with its file type box (ftyp)")
    content_type = "image/heic" if brands[0] != b"mif1" else "image/heif"
    meta: tuple[int, int] | None = None
    for name, start, end in _heif_boxes(data, 0, len(data)):
        if name == b"meta":
            if meta is not None:
                raise CorruptImage("the HEIF image has more than one metadata box (meta)")
            meta = (start, end)
    if meta is None:
        raise CorruptImage("the HEIF image has no metadata box (meta)")
    width, height = _heif_primary_size(data, meta[0] + 4, meta[1], max_pixels)
    return ImageInfo(content_type, width, height)


def _heif_boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes between `start` and `end`, bounded."""
    boxes: list[tuple[bytes, int, int]] = []
    position = start
    while position + 8 <= end:
        size, name = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:  # a 64-bit size follows the type
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header = 16
        elif size == 0:  # the box runs to the end of its parent
            size = end - position
        if size < header or position + size > end:
            raise CorruptImage(f"the HEIF image has a box ({name!r}) that runs past its end")
        boxes.append((name, position + header, position + size))
        if len(boxes) > MAX_HEIF_BOXES:
            raise CorruptImage(f"the HEIF image has more than {MAX_HEIF_BOXES} boxes in one level")
        position += size
    return boxes


def _heif_primary_size(data: bytes, start: int, end: int, max_pixels: int) -> tuple[int, int]:
    """The primary item's size from `meta` (after its version and flags): pitm, ipco, ipma."""
    boxes = {name: (s, e) for name, s, e in _heif_boxes(data, start, end)}
    for needed in (b"pitm", b"iinf", b"iprp"):
        if needed not in boxes:
            raise CorruptImage(f"the HEIF image's metadata has no {needed.decode()} box")
    primary = _heif_item_id(data, boxes[b"pitm"][0])
    _check_heif_items(data, boxes[b"iinf"][0])
    properties = {name: (s, e) for name, s, e in _heif_boxes(data, *boxes[b"iprp"])}
    if b"ipco" not in properties or b"ipma" not in properties:
        raise CorruptImage("the HEIF image has no item properties (ipco, ipma)")
    sizes: dict[int, tuple[int, int]] = {}
    for index, (name, s, _) in enumerate(_heif_boxes(data, *properties[b"ipco"]), start=1):
        if name == b"ispe":
            width, height = struct.unpack_from(">II", data, s + 4)  # after version and flags
            check_pixels(width, height, max_pixels)
            sizes[index] = (width, height)
    for index in _heif_associations(data, properties[b"ipma"][0], primary):
        if index in sizes:
            return sizes[index]
    raise CorruptImage("the HEIF image's primary item has no size (ispe)")


def _heif_item_id(data: bytes, position: int) -> int:
    version = data[position]
    if version == 0:
        return int(struct.unpack_from(">H", data, position + 4)[0])
    return int(struct.unpack_from(">I", data, position + 4)[0])


def _check_heif_items(data: bytes, position: int) -> None:
    version = data[position]
    fmt = ">H" if version == 0 else ">I"
    count = struct.unpack_from(fmt, data, position + 4)[0]
    if count > MAX_HEIF_ITEMS:
        raise CorruptImage(
            f"the HEIF image has {count} items; photos have tens, at most "
            f"{MAX_HEIF_ITEMS} are accepted"
        )


def _heif_associations(data: bytes, position: int, item: int) -> list[int]:
    """The property indexes (1-based, into ipco) that `ipma` associates with `item`."""
    version, flags = data[position], int.from_bytes(data[position + 1 : position + 4], "big")
    count = struct.unpack_from(">I", data, position + 4)[0]
    if count > MAX_HEIF_ITEMS:
        raise CorruptImage(f"the HEIF image has property associations for {count} items")
    position += 8
    id_size = 2 if version < 1 else 4
    index_size = 2 if flags & 1 else 1
    for _ in range(count):
        item_id = int.from_bytes(data[position : position + id_size], "big")
        associations = data[position + id_size]
        position += id_size + 1
        if item_id == item:
            mask = 0x7FFF if index_size == 2 else 0x7F  # the high bit flags "essential"
            return [
                int.from_bytes(data[at : at + index_size], "big") & mask
                for at in range(position, position + associations * index_size, index_size)
            ]
        position += associations * index_size
    return []


_INSPECTORS: dict[str, Callable[[bytes, int], ImageInfo]] = {
    "image/jpeg": _inspect_jpeg,
    "image/png": _inspect_png,
    "image/webp": _inspect_webp,
    "image/heic": _inspect_heif,
    "image/heif": _inspect_heif,
}
