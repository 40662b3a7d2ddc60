from __future__ import annotations

import io

import pytest
from PIL import Image

from backdrop.imaging.formats import (
    EXTENSION_BY_TYPE,
    SNIFF_LENGTH,
    SUPPORTED_TYPES,
    describe_bytes,
    sniff_content_type,
)


def _encoded(pil_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buffer, format=pil_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("pil_format", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_sniffs_each_supported_type(pil_format: str, content_type: str) -> None:
    head = _encoded(pil_format)[:SNIFF_LENGTH]
    assert sniff_content_type(head) == content_type


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<!DOCTYPE html><html><body>nope</body></html>",
        b"GIF89a\x08\x00\x08\x00",
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
        b"RIFF",
        b"\x89PNG\r\n",  # a cut signature is not a PNG
        b"\xff\xd8",
    ],
)
def test_other_bytes_are_not_sniffed(head: bytes) -> None:
    assert sniff_content_type(head) is None


def test_gif_is_not_sniffed_even_when_pillow_wrote_it() -> None:
    assert sniff_content_type(_encoded("GIF")[:SNIFF_LENGTH]) is None


def test_extensions_cover_exactly_the_supported_types() -> None:
    assert (
        set(EXTENSION_BY_TYPE)
        == SUPPORTED_TYPES
        == {
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/heic",
            "image/heif",
        }
    )
    assert EXTENSION_BY_TYPE["image/jpeg"] == "jpg"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\n  <!doctype html>\n<html lang='en'>", "text/HTML"),
        (b'{"error": "not found"}', "JSON text"),
        (b"just some words", "plain text"),
        (b"", "an empty file"),
        (b"GIF87a....", "a GIF image (not supported)"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x00\x00\x00\x18ftypavif\x00\x00", "an AVIF image (not supported)"),
        (b"\x00\x01\x02\xfe\xfd\x80\x81", "unrecognised binary data"),
    ],
)
def test_describes_what_bytes_look_like(head: bytes, expected: str) -> None:
    assert describe_bytes(head) == expected


def test_describes_a_supported_image_by_its_name() -> None:
    assert describe_bytes(_encoded("PNG")[:SNIFF_LENGTH]) == "a PNG image"
    assert describe_bytes(_encoded("WEBP")[:SNIFF_LENGTH]) == "a WebP image"


def test_text_cut_inside_a_multibyte_character_is_still_text() -> None:
    head = "prix: 12 €".encode()[:-1]  # "€" is three bytes; the head ends after two of them
    assert describe_bytes(head) == "plain text"
