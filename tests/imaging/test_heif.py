"""HEIC/HEIF: sniffed from the ftyp brands, sized from ispe before decoding, decoded upright."""

from __future__ import annotations

import struct

import pytest
from PIL import Image

from backdrop.errors import CorruptImage, ImageTooLarge, UnsupportedMediaType
from backdrop.imaging.decode import check_image, load_image
from backdrop.imaging.formats import sniff_content_type
from backdrop.imaging.inspect import inspect_image
from tests.conftest import subject_photo
from tests.heic import heic_bytes

LIMIT = 50_000_000


def _heic(size: tuple[int, int] = (320, 240)) -> bytes:
    return heic_bytes(subject_photo(*size)[0])


def _set_ispe(data: bytes, width: int, height: int) -> bytes:
    at = data.index(b"ispe") + 8  # after the type, version and flags
    return data[:at] + struct.pack(">II", width, height) + data[at + 8 :]


def test_heic_is_sniffed_inspected_and_decoded() -> None:
    data = _heic()
    assert sniff_content_type(data[:32]) == "image/heic"
    info = inspect_image(data, max_pixels=LIMIT)
    # ispe is the coded size: at least the picture (HEVC pads to its block size).
    assert info.content_type == "image/heic" and info.width >= 320 and info.height >= 240
    image = load_image(data, max_pixels=LIMIT)
    assert image.mode == "RGB" and image.size == (320, 240)


def test_alpha_survives(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = heic_bytes(Image.new("RGBA", (64, 48), (10, 200, 30, 120)))
    assert load_image(data, max_pixels=LIMIT).mode == "RGBA"
    path = tmp_path / "a.heic"
    path.write_bytes(data)
    # Either name of the family is accepted for the same bytes.
    assert check_image(path, "image/heif", max_pixels=LIMIT).content_type == "image/heic"


def test_an_absurd_ispe_is_refused_before_decoding() -> None:
    with pytest.raises(ImageTooLarge, match="100000x100000"):
        inspect_image(_set_ispe(_heic(), 100_000, 100_000), max_pixels=LIMIT)
    with pytest.raises(CorruptImage, match="empty size"):
        inspect_image(_set_ispe(_heic(), 0, 10), max_pixels=LIMIT)


def test_damaged_structure_is_refused() -> None:
    data = _heic()
    with pytest.raises(CorruptImage):
        inspect_image(data[:60], max_pixels=LIMIT)  # cut inside meta
    no_meta = data.replace(b"meta", b"free", 1)
    with pytest.raises(CorruptImage, match="meta"):
        inspect_image(no_meta, max_pixels=LIMIT)


def test_avif_and_sequences_are_not_heic() -> None:
    data = _heic()
    avif = data[:8] + b"avif" + data[12:16] + b"mif1avifmiaf" + data[28:]
    assert sniff_content_type(avif[:32]) is None
    with pytest.raises(UnsupportedMediaType, match="not a JPEG, PNG, WebP or HEIC"):
        load_image(avif, max_pixels=LIMIT)
