"""Recognising the image types backdrop accepts from their magic bytes."""

from __future__ import annotations

# How many leading bytes `sniff_content_type` needs.
SNIFF_LENGTH = 32

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

# HEIF (ISO/IEC 23008-12) starts with an `ftyp` box: its major brand, then compatible brands.
# HEVC-coded images and image collections are HEIC; `mif1` is the generic HEIF structural
# brand, which AVIF files carry too, so it counts only beside an HEVC brand.
HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis"})
HEIF_BRANDS = frozenset({b"mif1"})
# The HEIF family: a file declared as either is accepted when its bytes are either.
HEIF_TYPES = frozenset({"image/heic", "image/heif"})


def sniff_content_type(head: bytes) -> str | None:
    """The supported image type that `head` (the first bytes of a file) starts with, or None."""
    if head.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return _sniff_heif(head)


def heif_brands(head: bytes) -> tuple[bytes, list[bytes]] | None:
    """The major and compatible brands of an `ftyp` box at the start of `head`, or None."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4:
        return None
    end = min(size, len(head))
    compatible = [head[i : i + 4] for i in range(16, end - 3, 4)]
    return head[8:12], compatible


def _sniff_heif(head: bytes) -> str | None:
    brands = heif_brands(head)
    if brands is None:
        return None
    major, compatible = brands
    if major in HEIC_BRANDS:
        return "image/heic"
    if major in HEIF_BRANDS and HEIC_BRANDS.intersection(compatible):
        return "image/heif"
    return None
