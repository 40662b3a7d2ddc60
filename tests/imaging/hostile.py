"""Images shaped to make decoders slow, built by hand for the tests of inspect.py."""

from __future__ import annotations

import io
import struct

import numpy as np
from PIL import Image

from tests.pngs import png_chunk


def encode(image: Image.Image, pil_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, **params)
    return buffer.getvalue()


def noise(width: int, height: int, seed: int = 5) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment after SOI; a scan's end includes its data."""
    segments = []
    position = 2
    while position < len(data):
        marker = data[position + 1]
        if marker == 0xD9:
            segments.append((marker, position, position + 2))
            break
        end = position + 2 + struct.unpack_from(">H", data, position + 2)[0]
        if marker == 0xDA:
            end = data.index(b"\xff", end)
            while data[end + 1] == 0 or 0xD0 <= data[end + 1] <= 0xD7:
                end = data.index(b"\xff", end + 2)
        segments.append((marker, position, end))
        position = end
    return segments


def many_scans_jpeg(size: int = 1024, copies: int = 3000) -> bytes:
    """A Pillow progressive grey JPEG whose last scan (about 60 bytes: one EOB run over the
    whole image) is repeated `copies` times; libjpeg re-walks every block for each one."""
    data = encode(Image.new("L", (size, size), 128), "JPEG", progressive=True)
    scans = [segment for segment in jpeg_segments(data) if segment[0] == 0xDA]
    _, start, end = scans[-1]
    return data[:end] + data[start:end] * copies + data[end:]


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small baseline JPEG whose frame header (SOF0) claims another size."""
    data = bytearray(encode(noise(32, 24), "JPEG"))
    (_, start, _) = next(s for s in jpeg_segments(bytes(data)) if s[0] == 0xC0)
    struct.pack_into(">HH", data, start + 5, height, width)
    return bytes(data)


def tiny_chunks_png(chunks: int = 5000) -> bytes:
    """A valid PNG whose compressed data is cut into `chunks` IDAT chunks of one byte."""
    data = encode(noise(128, 128), "PNG")
    header = data[: 8 + 25]  # signature and IHDR
    compressed = _png_idat(data)
    assert len(compressed) > chunks
    pieces = [compressed[i : i + 1] for i in range(chunks - 1)] + [compressed[chunks - 1 :]]
    body = b"".join(png_chunk(b"IDAT", piece) for piece in pieces)
    return header + body + png_chunk(b"IEND", b"")


def _png_idat(data: bytes) -> bytes:
    position, out = 8, b""
    while position < len(data):
        length, name = struct.unpack_from(">I4s", data, position)
        if name == b"IDAT":
            out += data[position + 8 : position + 8 + length]
        position += 12 + length
    return out


def animation(pil_format: str, frames: int, size: int = 16) -> bytes:
    """An animated PNG or WebP of `frames` distinct frames; frame 0 is pure red."""
    images = [Image.new("RGB", (size, size), (255, 0, 0))]
    images += [noise(size, size, seed) for seed in range(1, frames)]
    return encode(
        images[0], pil_format, save_all=True, append_images=images[1:], duration=40, lossless=True
    )
