from __future__ import annotations

import io
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backdrop.errors import BackdropError, CorruptImage, ImageTooLarge, UnsupportedMediaType
from backdrop.imaging.decode import flatten_alpha, load_image, verify_image
from tests.pngs import png_by_hand

MAX_PIXELS = 4_000_000

_TYPES = [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]


def _encode(image: Image.Image, pil_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=pil_format, **params)
    return buffer.getvalue()


def _photo(width: int = 64, height: int = 48) -> Image.Image:
    """A noisy RGB picture, so that encoders produce more than a few bytes."""
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def _write(tmp_path: Path, data: bytes, name: str = "upload.bin") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- verify_image -------------------------------------------------------------------------


@pytest.mark.parametrize(("pil_format", "content_type"), _TYPES)
def test_verify_returns_the_size_of_each_type(
    tmp_path: Path, pil_format: str, content_type: str
) -> None:
    path = _write(tmp_path, _encode(_photo(64, 48), pil_format))
    assert verify_image(path, content_type, max_pixels=MAX_PIXELS) == (64, 48)


def test_html_sent_as_jpeg_is_unsupported(tmp_path: Path) -> None:
    path = _write(tmp_path, b"<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>")
    with pytest.raises(UnsupportedMediaType) as raised:
        verify_image(path, "image/jpeg", max_pixels=MAX_PIXELS)
    assert raised.value.detail == "the bytes are not a JPEG image (they look like text/HTML)"


def test_png_sent_as_jpeg_is_unsupported(tmp_path: Path) -> None:
    path = _write(tmp_path, _encode(_photo(), "PNG"))
    with pytest.raises(UnsupportedMediaType, match=r"not a JPEG image.*a PNG image"):
        verify_image(path, "image/jpeg", max_pixels=MAX_PIXELS)


def test_an_unsupported_declared_type_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, _encode(_photo(), "GIF"))
    with pytest.raises(UnsupportedMediaType, match="image/gif"):
        verify_image(path, "image/gif", max_pixels=MAX_PIXELS)


@pytest.mark.parametrize(("pil_format", "content_type"), _TYPES)
def test_truncated_images_are_corrupt(tmp_path: Path, pil_format: str, content_type: str) -> None:
    data = _encode(_photo(128, 96), pil_format)
    path = _write(tmp_path, data[: len(data) // 2])
    with pytest.raises(CorruptImage):
        verify_image(path, content_type, max_pixels=MAX_PIXELS)


def test_an_empty_file_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMediaType, match="an empty file"):
        verify_image(_write(tmp_path, b""), "image/png", max_pixels=MAX_PIXELS)


@pytest.mark.parametrize(("pil_format", "content_type"), _TYPES)
def test_random_bytes_behind_a_valid_signature_raise_domain_errors(
    tmp_path: Path, pil_format: str, content_type: str
) -> None:
    signature = _encode(_photo(), pil_format)[:16]
    rng = np.random.default_rng(11)
    path = tmp_path / "fuzz.bin"
    for length in (0, 1, 10, 100, 1000, 5000):
        path.write_bytes(signature + rng.bytes(length))
        with pytest.raises(BackdropError):
            verify_image(path, content_type, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize(("pil_format", "content_type"), _TYPES)
def test_damaged_images_only_ever_raise_domain_errors(
    tmp_path: Path, pil_format: str, content_type: str
) -> None:
    original = bytearray(_encode(_photo(40, 30), pil_format))
    rng = np.random.default_rng(3)
    path = tmp_path / "damaged.bin"
    outcomes = {"ok": 0, "refused": 0}
    for _ in range(150):
        damaged = bytearray(original)
        for position in rng.integers(0, len(damaged), size=4):
            damaged[position] = int(rng.integers(0, 256))
        path.write_bytes(bytes(damaged))
        try:
            verify_image(path, content_type, max_pixels=MAX_PIXELS)
            outcomes["ok"] += 1
        except BackdropError:
            outcomes["refused"] += 1
    # Any other exception type fails the test above; this checks the damage really was felt.
    assert outcomes["refused"] > 0


def test_refuses_a_huge_png_header_without_allocating(tmp_path: Path) -> None:
    # Only the IHDR claims 40000x40000; the pixel data is a few bytes.
    path = _write(tmp_path, png_by_hand(40_000, 40_000, 8, 2, b"\x00" * 10))
    tracemalloc.start()
    try:
        with pytest.raises(ImageTooLarge):
            verify_image(path, "image/png", max_pixels=MAX_PIXELS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # decoding would need 4.8 GB


def test_refuses_over_our_limit_before_decoding(tmp_path: Path) -> None:
    # 3000x3000 is below Pillow's own bomb limit, so this is the service's check at work; the
    # pixel data is missing, so had it decoded, the error would be CorruptImage instead.
    path = _write(tmp_path, png_by_hand(3000, 3000, 8, 2, b"\x00" * 10))
    with pytest.raises(ImageTooLarge, match="3000x3000"):
        verify_image(path, "image/png", max_pixels=MAX_PIXELS)


def test_pillow_bomb_warning_becomes_too_large_even_under_a_high_limit(tmp_path: Path) -> None:
    # 10000x10000 is above Pillow's warning threshold (~89 Mpx) but below its error threshold.
    path = _write(tmp_path, png_by_hand(10_000, 10_000, 8, 0, b"\x00" * 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning escaping would fail the test
        with pytest.raises(ImageTooLarge):
            verify_image(path, "image/png", max_pixels=10**9)


@pytest.mark.parametrize(("pil_format", "content_type"), _TYPES)
def test_the_pixel_limit_is_inclusive(tmp_path: Path, pil_format: str, content_type: str) -> None:
    path = _write(tmp_path, _encode(_photo(50, 40), pil_format))
    assert verify_image(path, content_type, max_pixels=2000) == (50, 40)
    with pytest.raises(ImageTooLarge):
        verify_image(path, content_type, max_pixels=1999)


# --- load_image ---------------------------------------------------------------------------


def test_loads_bytes_and_paths_alike(tmp_path: Path) -> None:
    data = _encode(_photo(), "PNG")
    from_bytes = load_image(data, max_pixels=MAX_PIXELS)
    from_path = load_image(_write(tmp_path, data), max_pixels=MAX_PIXELS)
    assert from_bytes.mode == from_path.mode == "RGB"
    assert from_bytes.tobytes() == from_path.tobytes() == _photo().tobytes()


def test_load_refuses_html_and_too_many_pixels() -> None:
    with pytest.raises(UnsupportedMediaType, match="text/HTML"):
        load_image(b"<html><body>hi</body></html>", max_pixels=MAX_PIXELS)
    with pytest.raises(ImageTooLarge):
        load_image(_encode(_photo(64, 48), "JPEG"), max_pixels=1000)
    with pytest.raises(CorruptImage):
        load_image(_encode(_photo(), "PNG")[:200], max_pixels=MAX_PIXELS)


def test_applies_exif_orientation_6() -> None:
    # Stored 40x20 with the left half red; orientation 6 means "rotate 90 degrees clockwise to
    # view", which turns the stored left half into the top.
    stored = Image.new("RGB", (40, 20), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = load_image(_encode(stored, "JPEG", exif=exif, quality=95), max_pixels=MAX_PIXELS)
    assert image.size == (20, 40)
    top = image.getpixel((10, 5))
    bottom = image.getpixel((10, 35))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_cmyk_jpeg_loads_as_rgb() -> None:
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # pure red in CMYK
    image = load_image(_encode(cmyk, "JPEG", quality=95), max_pixels=MAX_PIXELS)
    assert image.mode == "RGB"
    red, green, blue = np.asarray(image).reshape(-1, 3).mean(axis=0)
    assert red > 220 and green < 40 and blue < 40


def test_16_bit_grey_png_is_scaled_not_clipped() -> None:
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)  # 32896 = 128 * 257
    data = _encode(Image.fromarray(values), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    image = load_image(data, max_pixels=MAX_PIXELS)
    assert image.mode == "RGB"
    assert np.asarray(image)[0].tolist() == [[0, 0, 0], [128, 128, 128], [255, 255, 255]]


def test_16_bit_grey_png_with_a_transparency_key_loads_as_rgba() -> None:
    # tRNS holds a 16-bit grey; only that exact value turns transparent, not 1000 + 1.
    row = b"\x00" + struct.pack(">3H", 1000, 1001, 40000)
    data = png_by_hand(3, 1, 16, 0, row, trns=struct.pack(">H", 1000))
    image = load_image(data, max_pixels=MAX_PIXELS)
    assert image.mode == "RGBA"
    assert [image.getpixel((x, 0))[3] for x in range(3)] == [0, 255, 255]  # type: ignore[index]
    assert image.getpixel((2, 0))[:3] == (156, 156, 156)  # type: ignore[index]


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_rgb_png_with_a_transparency_key_loads_as_rgba(bit_depth: int) -> None:
    if bit_depth == 8:
        row = b"\x00" + bytes([255, 0, 128, 0, 255, 0])
        key = struct.pack(">3H", 255, 0, 128)
    else:
        row = b"\x00" + struct.pack(">6H", 65535, 0, 32896, 0, 65535, 0)
        key = struct.pack(">3H", 65535, 0, 32896)
    image = load_image(png_by_hand(2, 1, bit_depth, 2, row, trns=key), max_pixels=MAX_PIXELS)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (255, 0, 128, 0)
    assert image.getpixel((1, 0)) == (0, 255, 0, 255)


def test_16_bit_rgb_png_loads_as_rgb() -> None:
    # One row: filter byte, then (R, G, B) as big-endian 16-bit samples for two pixels.
    row = b"\x00" + struct.pack(">6H", 65535, 0, 32896, 0, 65535, 0)
    image = load_image(png_by_hand(2, 1, 16, 2, row), max_pixels=MAX_PIXELS)
    assert image.mode == "RGB"
    assert np.asarray(image)[0].tolist() == [[255, 0, 128], [0, 255, 0]]


def test_grey_loads_as_rgb() -> None:
    grey = Image.new("L", (4, 4), 77)
    image = load_image(_encode(grey, "PNG"), max_pixels=MAX_PIXELS)
    assert image.mode == "RGB"
    assert image.getpixel((1, 1)) == (77, 77, 77)


def test_palette_with_transparency_loads_as_rgba() -> None:
    palette_image = Image.new("P", (4, 2), 0)
    palette_image.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    palette_image.paste(1, (2, 0, 4, 2))
    data = _encode(palette_image, "PNG", transparency=0)
    image = load_image(data, max_pixels=MAX_PIXELS)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert image.getpixel((3, 1)) == (255, 0, 0, 255)


def test_opaque_palette_loads_as_rgb() -> None:
    palette_image = Image.new("RGB", (4, 4), (0, 128, 255)).convert(
        "P", palette=Image.Palette.ADAPTIVE
    )
    image = load_image(_encode(palette_image, "PNG"), max_pixels=MAX_PIXELS)
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == (0, 128, 255)


def test_grey_with_alpha_loads_as_rgba() -> None:
    grey_alpha = Image.new("LA", (3, 3), (90, 40))
    image = load_image(_encode(grey_alpha, "PNG"), max_pixels=MAX_PIXELS)
    assert image.mode == "RGBA"
    assert image.getpixel((1, 1)) == (90, 90, 90, 40)


def test_webp_loads_with_and_without_alpha() -> None:
    opaque = load_image(_encode(_photo(), "WEBP", lossless=True), max_pixels=MAX_PIXELS)
    assert opaque.mode == "RGB"
    assert opaque.tobytes() == _photo().tobytes()
    translucent = Image.new("RGBA", (8, 8), (10, 20, 30, 100))
    loaded = load_image(_encode(translucent, "WEBP", lossless=True), max_pixels=MAX_PIXELS)
    assert loaded.mode == "RGBA"
    assert loaded.getpixel((4, 4)) == (10, 20, 30, 100)


# --- flatten_alpha ------------------------------------------------------------------------


def test_flatten_alpha_composites_over_white() -> None:
    rgba = Image.new("RGBA", (3, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (0, 0, 0, 255))
    rgba.putpixel((2, 0), (0, 0, 0, 128))
    flat = flatten_alpha(rgba)
    assert flat.mode == "RGB"
    assert flat.getpixel((0, 0)) == (255, 255, 255)
    assert flat.getpixel((1, 0)) == (0, 0, 0)
    half = flat.getpixel((2, 0))
    assert isinstance(half, tuple)
    assert all(abs(channel - 127) <= 1 for channel in half)


def test_flatten_alpha_leaves_rgb_alone() -> None:
    photo = _photo()
    assert flatten_alpha(photo).tobytes() == photo.tobytes()


def test_flatten_alpha_honours_a_transparency_key_and_a_translucent_palette() -> None:
    keyed = Image.new("RGB", (2, 1), (10, 20, 30))
    keyed.putpixel((1, 0), (0, 0, 0))
    keyed.info["transparency"] = (0, 0, 0)
    flat = flatten_alpha(keyed)
    assert [flat.getpixel((x, 0)) for x in (0, 1)] == [(10, 20, 30), (255, 255, 255)]
    clear = Image.new("RGBA", (2, 1), (10, 20, 30, 255))
    clear.putpixel((1, 0), (0, 0, 0, 0))
    palette = clear.convert("P")
    flat = flatten_alpha(palette)
    assert [flat.getpixel((x, 0)) for x in (0, 1)] == [(10, 20, 30), (255, 255, 255)]


def _jpeg_with_enlarged_header(width: int = 854, height: int = 480) -> bytes:
    """A real JPEG whose frame header was edited to say 6000x6000: its data runs out early."""
    rng = np.random.default_rng(3)
    photo = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=85)
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, 6000, 6000)
    return bytes(data)


def test_a_jpeg_whose_data_ends_before_its_image_is_corrupt(tmp_path: Path) -> None:
    """Pillow fills the missing rows with grey and says nothing; the check refuses it."""
    data = _jpeg_with_enlarged_header()
    assert Image.open(io.BytesIO(data)).size == (6000, 6000)
    path = tmp_path / "enlarged.jpg"
    path.write_bytes(data)
    with pytest.raises(CorruptImage, match="ends before its image does"):
        verify_image(path, "image/jpeg", max_pixels=40_000_000)
    with pytest.raises(CorruptImage, match="ends before its image does"):
        load_image(data, max_pixels=40_000_000, complete=True)


def test_whole_jpegs_pass_the_completeness_check(tmp_path: Path) -> None:
    for progressive in (False, True):
        buffer = io.BytesIO()
        Image.new("RGB", (640, 480), (10, 120, 200)).save(buffer, "JPEG", progressive=progressive)
        path = tmp_path / f"whole-{progressive}.jpg"
        path.write_bytes(buffer.getvalue())
        assert verify_image(path, "image/jpeg", max_pixels=40_000_000) == (640, 480)
        assert load_image(buffer.getvalue(), max_pixels=40_000_000, complete=True).size == (
            640,
            480,
        )
