"""Image types the service accepts, recognised from their magic bytes."""

from __future__ import annotations

# The sniffing is shared with the client package, which imports no server code.
from backdrop.common.magic import HEIF_TYPES, SNIFF_LENGTH, heif_brands, sniff_content_type

__all__ = ["HEIF_TYPES", "SNIFF_LENGTH", "heif_brands", "same_type", "sniff_content_type"]

EXTENSION_BY_TYPE: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    # iPhones' default; decoded by pillow-heif (decode.py registers its Pillow plugin).
    "image/heic": "heic",
    "image/heif": "heif",
}
SUPPORTED_TYPES: frozenset[str] = frozenset(EXTENSION_BY_TYPE)
# For messages: what a client may send.
SUPPORTED_WORDS = "JPEG, PNG, WebP or HEIC"

# Pillow's plugin name per type, so a decoder can be pinned to the declared format.
PIL_FORMAT_BY_TYPE: dict[str, str] = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/heic": "HEIF",
    "image/heif": "HEIF",
}


def same_type(declared: str, sniffed: str | None) -> bool:
    """Whether bytes sniffed as `sniffed` are of the `declared` type.

    image/heic and image/heif name one container; senders use either for the same file.
    """
    if declared in HEIF_TYPES:
        return sniffed in HEIF_TYPES
    return sniffed == declared


def type_label(content_type: str) -> str:
    """A short human name for a supported type: "JPEG", "PNG", "WebP"."""
    labels = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}
    labels |= {"image/heic": "HEIC", "image/heif": "HEIF"}
    return labels.get(content_type, content_type)


def describe_bytes(head: bytes) -> str:
    """What the first bytes of a file look like, in words, for error messages."""
    sniffed = sniff_content_type(head)
    if sniffed is not None:
        return f"a {type_label(sniffed)} image"
    if not head:
        return "an empty file"
    for signature, label in _OTHER_SIGNATURES:
        if head.startswith(signature):
            return label
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"msf1", b"hevc", b"mif1"):
            # Accepted HEIC is sniffed above: this is a sequence or another codec's HEIF.
            return "a HEIF sequence or non-HEVC HEIF file (not supported)"
        if brand in (b"avif", b"avis"):
            return "an AVIF image (not supported)"
        return "an MP4/QuickTime file"
    text = _as_text(head)
    if text is not None:
        stripped = text.lstrip().lower()
        if stripped.startswith(("<!doctype html", "<html", "<head", "<body")):
            return "text/HTML"
        if stripped.startswith(("<?xml", "<svg")):
            return "XML/SVG text (not supported)"
        if stripped.startswith(("{", "[")):
            return "JSON text"
        if stripped.startswith("<"):
            return "text/HTML"
        return "plain text"
    return "unrecognised binary data"


_OTHER_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"GIF87a", "a GIF image (not supported)"),
    (b"GIF89a", "a GIF image (not supported)"),
    (b"BM", "a BMP image (not supported)"),
    (b"II*\x00", "a TIFF image (not supported)"),
    (b"MM\x00*", "a TIFF image (not supported)"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
)


def _as_text(head: bytes) -> str | None:
    """`head` decoded as UTF-8 text if it plausibly is text, else None."""
    try:
        # A multi-byte character may be cut at the end of the head; ignore only that tail.
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return None
        text = head[: error.start].decode("utf-8")
    text = text.removeprefix("\ufeff")
    if all(ch.isprintable() or ch in "\t\r\n" for ch in text):
        return text
    return None
