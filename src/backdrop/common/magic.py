"""Recognising the image types backdrop accepts from their magic bytes."""

from __future__ import annotations

# How many leading bytes `sniff_content_type` needs.
SNIFF_LENGTH = 32

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"


def sniff_content_type(head: bytes) -> str | None:
    """The supported image type that `head` (the first bytes of a file) starts with, or None."""
    if head.startswith(JPEG_SIGNATURE):
        return "image/jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
