"""export.dpi: written into PNG and JPEG headers, the pixels untouched."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backdrop.imaging.dpi import read_dpi, with_dpi


def _encoded(fmt: str, **options: object) -> tuple[bytes, np.ndarray]:
    pixels = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue(), pixels


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_pillow_reads_the_dpi_and_the_same_pixels(fmt: str) -> None:
    data, _ = _encoded(fmt)
    stamped = with_dpi(data, 300)
    image = Image.open(io.BytesIO(stamped))
    dpi = image.info["dpi"]
    assert abs(dpi[0] - 300) < 0.1 and abs(dpi[1] - 300) < 0.1
    assert np.array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(data))))
    assert read_dpi(stamped) is not None and abs(read_dpi(stamped)[0] - 300) < 0.1  # type: ignore[index]


def test_an_existing_dpi_is_replaced_not_duplicated() -> None:
    png, _ = _encoded("PNG", dpi=(96, 96))
    stamped = with_dpi(png, 600)
    assert stamped.count(b"pHYs") == 1
    assert abs(Image.open(io.BytesIO(stamped)).info["dpi"][0] - 600) < 0.1
    jpeg, _ = _encoded("JPEG", dpi=(96, 96))
    assert Image.open(io.BytesIO(with_dpi(jpeg, 1200))).info["dpi"] == (1200, 1200)


def test_a_jpeg_without_jfif_gets_one() -> None:
    jpeg, _ = _encoded("JPEG")
    assert jpeg[2:4] == b"\xff\xe0"
    # Drop the JFIF segment (as some encoders write EXIF only): one is added.
    length = int.from_bytes(jpeg[4:6], "big")
    bare = jpeg[:2] + jpeg[4 + length :]
    stamped = with_dpi(bare, 150)
    assert Image.open(io.BytesIO(stamped)).info["dpi"] == (150, 150)


def test_other_formats_and_values_are_refused() -> None:
    webp, _ = _encoded("WEBP")
    with pytest.raises(ValueError, match="PNG and JPEG"):
        with_dpi(webp, 300)
    png, _ = _encoded("PNG")
    with pytest.raises(ValueError, match=r"1\.\.65535"):
        with_dpi(png, 0)
