"""PNG files built chunk by chunk, for headers that lie (e.g. 40000x40000 pixels)."""

from __future__ import annotations

import struct
import zlib


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_by_hand(
    width: int, height: int, bit_depth: int, color_type: int, raw: bytes, *, trns: bytes = b""
) -> bytes:
    """A PNG built chunk by chunk; `raw` is the filtered scanlines (filter byte per row).

    `trns`, when given, is the payload of a tRNS (transparency key) chunk.
    """
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + (png_chunk(b"tRNS", trns) if trns else b"")
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )
