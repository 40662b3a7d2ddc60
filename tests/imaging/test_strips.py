"""Compositing a strip of rows at a time gives exactly what the whole-image formulas give.

The references here are the plain full-size recipes the strip code replaced (bench/MEMORY.md):
a cutout by `Image.composite`, the decontamination band by one dilation of the whole matte,
and compositing from an estimated foreground that was first made as a whole image.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from backdrop.imaging import compose
from backdrop.imaging.compose import Foreground, cutout, estimate_foreground, on_color, on_image


def _photo_and_matte(width: int, height: int) -> tuple[Image.Image, np.ndarray]:
    """A noisy photo, and a matte with an opaque disc, a soft ramp around it and specks."""
    rng = np.random.default_rng(width * height)
    y, x = np.ogrid[:height, :width]
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[..., 0] = x * 255 // width
    pixels[..., 1] = y * 255 // height
    pixels[..., 2] = rng.integers(0, 256, (height, width), dtype=np.uint8)
    radius = 0.3 * min(width, height)
    inside = radius - np.hypot(x - width / 2, y - height / 2)
    alpha = np.rint(np.clip(inside / 12, 0, 1) * 255).astype(np.uint8)
    alpha[rng.random((height, width)) < 0.001] = 255
    return Image.fromarray(pixels), alpha


def _whole_cutout(image: Image.Image, alpha: np.ndarray) -> Image.Image:
    """The cutout as it was made before strips: composite, then the matte as alpha."""
    matte = Image.fromarray(alpha)
    seen = matte.point(lambda value: 255 if value else 0)
    rgba = Image.composite(image.convert("RGBA"), Image.new("RGBA", image.size), seen)
    rgba.putalpha(matte)
    return rgba


def _whole_band(alpha: np.ndarray, width: int) -> np.ndarray:
    """The decontamination band as one dilation of the whole matte (the old recipe)."""
    import cv2

    not_opaque = (alpha < 255).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    band: np.ndarray = (cv2.dilate(not_opaque, kernel) > 0) & (not_opaque == 0)
    return band


@pytest.mark.parametrize(("width", "height"), [(64, 48), (640, 480)])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_cutout_in_strips_equals_the_whole_image_composite(
    width: int, height: int, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image, alpha = _photo_and_matte(width, height)
    image = image.convert(mode)
    expected = _whole_cutout(image, alpha).tobytes()
    assert cutout(image, alpha).tobytes() == expected
    monkeypatch.setattr(compose, "_STRIP_PIXELS", 3 * width)  # many 3-row strips
    assert cutout(image, alpha).tobytes() == expected


def test_the_band_made_per_strip_equals_the_whole_image_band() -> None:
    _, alpha = _photo_and_matte(500, 400)
    for band_width in (2, 5):
        whole = _whole_band(alpha, band_width)
        for rows in (1, 3, 7, 400):
            strips = [
                compose._band_rows(alpha, band_width, top, min(top + rows, 400))
                for top in range(0, 400, rows)
            ]
            np.testing.assert_array_equal(np.concatenate(strips), whole)


def test_a_matte_without_soft_pixels_or_edge_has_no_band() -> None:
    assert not compose._has_edge(np.full((30, 40), 255, np.uint8))
    assert not compose._has_edge(np.zeros((30, 40), np.uint8))
    hard = np.zeros((30, 40), np.uint8)
    hard[10:20, 10:20] = 255
    assert compose._has_edge(hard)
    soft = np.full((30, 40), 255, np.uint8)
    soft[29, 39] = 7
    assert compose._has_edge(soft)


@pytest.mark.parametrize(("width", "height"), [(300, 200), (900, 700)])
def test_compositing_from_the_foreground_as_made_equals_compositing_the_whole_image(
    width: int, height: int
) -> None:
    # 900x700 is over the 0.25 MP working size, so the estimates are shrunk and enlarged.
    image, alpha = _photo_and_matte(width, height)
    whole = estimate_foreground(image, alpha)
    backdrop = Image.new("RGB", (90, 70), (40, 50, 60))
    assert Foreground(image, alpha).rows(0, height).tobytes() == whole.tobytes()
    assert cutout(Foreground(image, alpha), alpha).tobytes() == cutout(whole, alpha).tobytes()
    for colour in ((10, 200, 30, 255), (10, 200, 30, 100)):
        made = on_color(Foreground(image, alpha), alpha, colour)
        assert made.tobytes() == on_color(whole, alpha, colour).tobytes()
    made = on_image(Foreground(image, alpha), alpha, backdrop)
    assert made.tobytes() == on_image(whole, alpha, backdrop).tobytes()


def test_an_unchanged_foreground_reads_the_image_itself() -> None:
    image = Image.new("RGBA", (40, 30), (1, 2, 3, 9))
    foreground = Foreground(image, np.full((30, 40), 255, np.uint8))
    assert foreground.unchanged
    assert foreground.rows(0, 30).tobytes() == image.convert("RGB").tobytes()
