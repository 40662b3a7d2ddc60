"""Result shaping: crop to the subject, size, channels, encoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backdrop.errors import UnableToProcess
from backdrop.imaging.output import (
    OutputOptions,
    fitted_size,
    max_side_for,
    render,
    subject_box,
)


def _subject(width: int = 200, height: int = 100) -> tuple[Image.Image, Image.Image]:
    alpha = np.zeros((height, width), dtype=np.uint8)
    alpha[30:60, 50:120] = 255
    alpha[10, 10] = 100  # a faint speck below 0.5 does not widen the box
    rgba = Image.new("RGB", (width, height), (200, 30, 30)).convert("RGBA")
    mask = Image.fromarray(alpha)
    rgba.putalpha(mask)
    return rgba, mask


def test_subject_box_with_margin_is_clamped() -> None:
    _, mask = _subject()
    alpha = np.asarray(mask)
    assert subject_box(alpha) == (50, 30, 120, 60)
    assert subject_box(alpha, 10) == (40, 20, 130, 70)
    assert subject_box(alpha, 1000) == (0, 0, 200, 100)
    assert subject_box(np.zeros((5, 5), dtype=np.uint8)) is None


def test_sizes() -> None:
    assert max_side_for(None) is None and max_side_for("full") is None
    assert max_side_for("preview") == 625 and max_side_for(300) == 300
    with pytest.raises(ValueError):
        max_side_for("huge")
    assert fitted_size((4000, 3000), 625) == (625, 469)
    assert fitted_size((300, 200), 625) == (300, 200)  # never enlarged
    assert fitted_size((3000, 4000), None) == (3000, 4000)


def test_defaults_give_the_lightx_png() -> None:
    output, mask = _subject()
    rendered = render(output, mask, OutputOptions())
    decoded = Image.open(io.BytesIO(rendered.output))
    assert decoded.format == "PNG" and decoded.mode == "RGBA" and decoded.size == (200, 100)
    assert decoded.tobytes() == output.tobytes()
    assert Image.open(io.BytesIO(rendered.mask)).tobytes() == mask.tobytes()


def test_crop_size_and_alpha_channel_keep_output_and_mask_aligned() -> None:
    output, mask = _subject()
    options = OutputOptions(crop=True, crop_margin=5, max_side=40, channels="alpha")
    rendered = render(output, mask, options)
    matte = Image.open(io.BytesIO(rendered.output))
    mask_out = Image.open(io.BytesIO(rendered.mask))
    assert matte.mode == "L" and matte.size == mask_out.size == (40, 20)
    assert matte.tobytes() == mask_out.tobytes()


@pytest.mark.parametrize(
    ("fmt", "pil_format", "mode"), [("webp", "WEBP", "RGBA"), ("jpg", "JPEG", "RGB")]
)
def test_formats(fmt: str, pil_format: str, mode: str) -> None:
    output, mask = _subject()
    options = OutputOptions(format=fmt)  # type: ignore[arg-type]
    rendered = render(output, mask, options)
    decoded = Image.open(io.BytesIO(rendered.output))
    assert (decoded.format, decoded.mode) == (pil_format, mode)
    corner = decoded.convert("RGBA").getpixel((0, 0))
    # Transparent on WebP; flattened onto white in a JPEG.
    assert corner[3] == 0 if fmt == "webp" else corner[:3] == (255, 255, 255)  # type: ignore[index]
    assert options.content_type == {"webp": "image/webp", "jpg": "image/jpeg"}[fmt]


def test_params_round_trip() -> None:
    options = OutputOptions(format="webp", crop=True, crop_margin=3, max_side=625, channels="alpha")
    assert OutputOptions.from_params(options.to_params()) == options
    assert OutputOptions.from_params(None) == OutputOptions()


def test_webp_refuses_what_the_format_cannot_hold() -> None:
    wide = Image.new("L", (16384, 1))
    with pytest.raises(UnableToProcess, match="at most 16383 pixels"):
        render(wide, wide, OutputOptions(format="webp"))
    assert render(wide, wide, OutputOptions(format="webp", max_side=16383)).output
