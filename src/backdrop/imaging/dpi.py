"""A pixel density (DPI) written into encoded PNG and JPEG bytes, without re-encoding them.

Printing and layout tools read it to size the image on paper; the pixels are unchanged, so
setting it after the encoder costs a few bytes of copying and no quality (a JPEG re-encode
would lose some).
"""

from __future__ import annotations

import struct
import zlib

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_INCH = 0.0254  # metres: PNG counts pixels per metre
_JFIF = b"JFIF\x00"


def with_dpi(data: bytes, dpi: int) -> bytes:
    """`data` (a PNG or a JPEG) stating `dpi` pixels per inch on both axes."""
    if not 1 <= dpi <= 65535:
        raise ValueError(f"a DPI is 1..65535, not {dpi}")
    if data.startswith(_PNG_SIGNATURE):
        return _png_with_dpi(data, dpi)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_with_dpi(data, dpi)
    raise ValueError("a DPI can be written into PNG and JPEG images only")


def read_dpi(data: bytes) -> tuple[float, float] | None:
    """The DPI a PNG or JPEG states (None if it states none): for tests and checks."""
    if data.startswith(_PNG_SIGNATURE):
        for kind, body in _png_chunks(data):
            if kind == b"pHYs":
                x, y, unit = struct.unpack(">IIB", body)
                return (x * _INCH, y * _INCH) if unit == 1 else None
        return None
    if data.startswith(b"\xff\xd8\xff\xe0") and data[6:11] == _JFIF:
        units, x, y = struct.unpack(">BHH", data[13:18])
        return (float(x), float(y)) if units == 1 else None
    return None


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, offset = [], len(_PNG_SIGNATURE)
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks.append((kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def _png_with_dpi(data: bytes, dpi: int) -> bytes:
    per_metre = round(dpi / _INCH)
    body = struct.pack(">IIB", per_metre, per_metre, 1)
    phys = struct.pack(">I", len(body)) + b"pHYs" + body
    phys += struct.pack(">I", zlib.crc32(b"pHYs" + body) & 0xFFFFFFFF)
    # IHDR always comes first and is 13 bytes: pHYs goes right after it (it must precede
    # IDAT); an existing pHYs is dropped so only one is left.
    offset = len(_PNG_SIGNATURE) + 25
    out = bytearray(data[:offset]) + phys
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        end = offset + 12 + length
        if data[offset + 4 : offset + 8] != b"pHYs":
            out += data[offset:end]
        offset = end
    return bytes(out)


def _jpeg_with_dpi(data: bytes, dpi: int) -> bytes:
    density = struct.pack(">BHH", 1, dpi, dpi)  # units 1: dots per inch
    if data[2:4] == b"\xff\xe0" and data[6:11] == _JFIF:
        # The JFIF header: marker, length (2), "JFIF\0", version (2), then units + densities.
        return data[:13] + density + data[18:]
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + _JFIF + b"\x01\x01" + density + b"\x00\x00"
    return data[:2] + app0 + data[2:]
