"""The container inspection refuses slow-to-decode shapes at once and lets real files by."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from backdrop.errors import BackdropError, CorruptImage, ImageTooLarge
from backdrop.imaging.decode import check_image, load_image, verify_image
from backdrop.imaging.inspect import MAX_FRAMES, MAX_JPEG_SCANS, inspect_image
from tests.imaging import hostile

MAX_PIXELS = 40_000_000
# Refusing must cost a tiny fraction of the decode (the 3000-scan file below takes seconds).
CPU_BUDGET = 0.25


@contextmanager
def _cpu_under(seconds: float) -> Iterator[None]:
    start = time.process_time()
    yield
    assert time.process_time() - start < seconds


HOSTILE: dict[str, tuple[Callable[[], bytes], str, type[BackdropError], str]] = {
    "jpeg-3000-scans": (hostile.many_scans_jpeg, "image/jpeg", CorruptImage, "scans"),
    "jpeg-sof-60000x60000": (
        lambda: hostile.jpeg_claiming(60_000, 60_000),
        "image/jpeg",
        ImageTooLarge,
        "60000x60000",
    ),
    "png-5000-idat-chunks": (hostile.tiny_chunks_png, "image/png", CorruptImage, "chunks"),
    "apng-150-frames": (lambda: hostile.animation("PNG", 150), "image/png", CorruptImage, "150"),
    "webp-150-frames": (
        lambda: hostile.animation("WEBP", 150),
        "image/webp",
        CorruptImage,
        "150 frames",
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_before_decoding(tmp_path: Path, name: str) -> None:
    build, content_type, error, words = HOSTILE[name]
    data = build()
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    with _cpu_under(CPU_BUDGET), pytest.raises(error, match=words) as raised:
        verify_image(path, content_type, max_pixels=MAX_PIXELS)
    assert str(tmp_path) not in raised.value.detail
    with _cpu_under(CPU_BUDGET), pytest.raises(error, match=words):
        load_image(data, max_pixels=MAX_PIXELS)


def test_the_scan_limit_counts_scans_exactly() -> None:
    # Pillow's grey progressive script has 6 scans; 26 copies of the last make 32.
    assert inspect_image(hostile.many_scans_jpeg(64, MAX_JPEG_SCANS - 6), max_pixels=MAX_PIXELS)
    with pytest.raises(CorruptImage, match=f"more than {MAX_JPEG_SCANS} scans"):
        inspect_image(hostile.many_scans_jpeg(64, MAX_JPEG_SCANS - 5), max_pixels=MAX_PIXELS)


@pytest.mark.parametrize(
    ("pil_format", "params", "content_type"),
    [
        ("JPEG", {"progressive": True}, "image/jpeg"),
        ("JPEG", {"progressive": True, "optimize": True, "quality": 95}, "image/jpeg"),
        ("JPEG", {"progressive": True, "subsampling": 0}, "image/jpeg"),
        ("JPEG", {}, "image/jpeg"),
        ("PNG", {}, "image/png"),
        ("PNG", {"optimize": True}, "image/png"),
        ("WEBP", {}, "image/webp"),
        ("WEBP", {"lossless": True}, "image/webp"),
    ],
)
def test_normal_files_pass(
    tmp_path: Path, pil_format: str, params: dict[str, object], content_type: str
) -> None:
    data = hostile.encode(hostile.noise(300, 200), pil_format, **params)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    info = check_image(path, content_type, max_pixels=MAX_PIXELS)
    assert (info.content_type, info.size, info.frames) == (content_type, (300, 200), 1)
    assert load_image(data, max_pixels=MAX_PIXELS).size == (300, 200)


def test_grey_and_alpha_files_pass() -> None:
    grey = hostile.encode(Image.new("L", (64, 48), 99), "JPEG", progressive=True)
    assert inspect_image(grey, max_pixels=MAX_PIXELS).size == (64, 48)
    # An alpha channel makes Pillow write the extended WebP layout (VP8X, ALPH, VP8).
    rgba = hostile.encode(Image.new("RGBA", (64, 48), (1, 2, 3, 4)), "WEBP")
    assert rgba[12:16] == b"VP8X"
    assert inspect_image(rgba, max_pixels=MAX_PIXELS).size == (64, 48)


@pytest.mark.parametrize("pil_format", ["PNG", "WEBP"])
def test_short_animations_give_their_first_frame(pil_format: str) -> None:
    data = hostile.animation(pil_format, 3)
    assert inspect_image(data, max_pixels=MAX_PIXELS).frames == 3
    image = load_image(data, max_pixels=MAX_PIXELS)
    pixel = image.getpixel((8, 8))
    assert isinstance(pixel, tuple) and pixel[:3] == (255, 0, 0)


@pytest.mark.parametrize("pil_format", ["PNG", "WEBP"])
def test_the_frame_limit_is_inclusive(pil_format: str) -> None:
    assert inspect_image(hostile.animation(pil_format, MAX_FRAMES), max_pixels=MAX_PIXELS)
    with pytest.raises(CorruptImage, match="animation"):
        inspect_image(hostile.animation(pil_format, MAX_FRAMES + 1), max_pixels=MAX_PIXELS)


def test_png_structure_is_checked() -> None:
    from tests.pngs import png_by_hand, png_chunk

    whole = png_by_hand(4, 4, 8, 0, b"\x00\x00\x00\x00\x00" * 4)
    no_data = whole.replace(whole[33 : whole.index(b"IEND") - 4], b"")
    with pytest.raises(CorruptImage, match="IDAT"):
        inspect_image(no_data, max_pixels=MAX_PIXELS)
    text_first = whole[:8] + png_chunk(b"tEXt", b"a\x00b") + whole[8:]
    with pytest.raises(CorruptImage, match="IHDR"):
        inspect_image(text_first, max_pixels=MAX_PIXELS)


def test_refusing_a_5mb_file_stays_fast() -> None:
    # 400000 empty scans of 12 bytes: hours of decoding; the inspection stops at the 33rd.
    data = hostile.many_scans_jpeg(1024, 400_000)
    assert len(data) > 4_000_000
    with _cpu_under(CPU_BUDGET), pytest.raises(CorruptImage):
        inspect_image(data, max_pixels=MAX_PIXELS)
