"""Layout geometry: the canvas is the size asked for, the subject's box lands where padding,
alignment, position and scale say, and nothing is enlarged past the limit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backdrop.imaging.layout import PRESETS, Layout, Length, Sides, plan, preset
from backdrop.imaging.shadows import solid_box
from backdrop.imaging.staging import stage

SUBJECT = (300, 200, 500, 600)  # 200 x 400 in a 1000 x 800 photo


def _box_on_canvas(layout: Layout, size: tuple[int, int] = (1000, 800)) -> tuple[int, ...]:
    return plan(size, SUBJECT, layout).placed_box


def test_fit_with_padding_fills_the_padded_height_and_centres() -> None:
    layout = Layout(canvas="size", size=(2000, 2000), padding=Sides.all(Length(0.1)),
                    max_upscale=10)  # fmt: skip
    placement = plan((1000, 800), SUBJECT, layout)
    assert placement.canvas == (2000, 2000)
    left, top, right, bottom = placement.placed_box
    assert (top, bottom) == (200, 1800)  # 10 % of 2000 above and below: height is limiting
    assert right - left == 800 and left == 600  # centred: 600 + 800 + 600


@pytest.mark.parametrize(
    ("horizontal", "vertical", "expected"),
    [
        ("left", "top", (100, 100)),
        ("right", "bottom", (1700, 1500)),
        ("center", "center", (900, 800)),
    ],
)
def test_alignment_puts_the_box_against_the_padded_edge(
    horizontal: str, vertical: str, expected: tuple[int, int]
) -> None:
    layout = Layout(canvas="size", size=(2000, 2000), padding=Sides.all(Length(100, "px")),
                    horizontal=horizontal, vertical=vertical)  # type: ignore[arg-type]  # fmt: skip
    left, top, right, bottom = _box_on_canvas(layout)
    assert (left, top) == expected
    assert (right - left, bottom - top) == (200, 400)  # never enlarged past 1x by default


def test_never_upscaled_past_max_upscale() -> None:
    layout = Layout(canvas="size", size=(4000, 4000), max_upscale=1.5)
    assert plan((1000, 800), SUBJECT, layout).scale == pytest.approx(1.5)


def test_per_side_padding_in_px_and_fraction() -> None:
    layout = Layout(
        canvas="size", size=(1000, 1000), max_upscale=10,
        padding=Sides(top=Length(0.2), right=Length(0), bottom=Length(50, "px"), left=Length(0)),
    )  # fmt: skip
    _, top, _, bottom = _box_on_canvas(layout)
    assert (top, bottom) == (200, 950)


def test_fill_covers_the_canvas_and_ignores_padding() -> None:
    layout = Layout(canvas="size", size=(1000, 1000), scaling="fill", max_upscale=10,
                    padding=Sides.all(Length(0.2)))  # fmt: skip
    left, top, right, bottom = _box_on_canvas(layout)
    assert right - left == 1000 and bottom - top == 2000 and top == -500


def test_margin_holds_even_when_filling() -> None:
    layout = Layout(canvas="size", size=(1000, 1000), scaling="fill", max_upscale=10,
                    margin=Sides.all(Length(0.1)))  # fmt: skip
    left, _, right, _ = _box_on_canvas(layout)
    assert (left, right) == (100, 900)


def test_subject_canvas_is_the_box_plus_padding() -> None:
    layout = Layout(canvas="subject", padding=Sides.all(Length(10, "px")))
    placement = plan((1000, 800), SUBJECT, layout)
    assert placement.canvas == (220, 420) and placement.placed_box == (10, 10, 210, 410)


def test_position_and_scale_as_remove_bg() -> None:
    layout = Layout(canvas="original", scale=0.5, position=(0.0, 1.0))
    left, top, right, bottom = _box_on_canvas(layout)
    # scale 0.5: half of what would just fit (800 / 400 = 2x) -> 1x; at the left, at the bottom
    assert (left, bottom) == (0, 800) and (right - left, bottom - top) == (200, 400)


def test_keep_place_keeps_the_centre() -> None:
    layout = Layout(canvas="original", scale=0.25, keep_place=True)
    left, top, right, bottom = _box_on_canvas(layout)
    assert ((left + right) / 2, (top + bottom) / 2) == (400, 400)


def test_max_width_shrinks_the_whole_canvas() -> None:
    layout = Layout(canvas="size", size=(2000, 1000), max_width=1000, max_upscale=10)
    placement = plan((1000, 800), SUBJECT, layout)
    assert placement.canvas == (1000, 500)


def test_canvas_over_the_pixel_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="over this server's limit"):
        plan((1000, 800), SUBJECT, Layout(canvas="size", size=(9000, 9000)), max_pixels=40_000_000)


def test_unknown_preset_names_the_presets() -> None:
    with pytest.raises(ValueError, match="square-white"):
        preset("pinterest-ish")
    assert PRESETS["square-white"].size == (2000, 2000)


def test_stage_draws_the_subject_where_the_plan_says_and_the_mask_follows() -> None:
    image = Image.new("RGBA", (1000, 1200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((300, 100, 699, 1099), fill=(10, 200, 30, 255))
    staged = stage(image, layout=PRESETS["square-white"], background=(255, 255, 255, 255))
    assert staged.output.size == (2000, 2000) and staged.output.mode == "RGB"
    box = solid_box(np.asarray(staged.mask))
    assert box is not None
    left, top, right, bottom = box
    assert abs(top - 160) <= 1 and abs(2000 - bottom - 160) <= 1  # 8 % of 2000
    assert abs((left + right) / 2 - 1000) <= 1
    pixels = np.asarray(staged.output)
    assert tuple(pixels[1000, 1000]) == (10, 200, 30) and tuple(pixels[5, 5]) == (255, 255, 255)


def test_stage_refuses_a_canvas_over_the_limit() -> None:
    from backdrop.errors import UnableToProcess

    image = Image.new("RGBA", (10, 10), (255, 0, 0, 255))
    with pytest.raises(UnableToProcess, match="limit"):
        stage(image, layout=Layout(canvas="size", size=(8000, 8000)), max_pixels=40_000_000)


def test_layouts_as_people_write_them() -> None:
    from backdrop.imaging.layout_options import layout_from_text, preset_background

    layout = layout_from_text("2000x1500", "8% 40px", "bottom")
    assert layout is not None and layout.size == (2000, 1500) and layout.vertical == "bottom"
    assert layout.padding.top == Length(0.08) and layout.padding.left == Length(40, "px")
    assert layout_from_text("square-white") == PRESETS["square-white"]
    assert preset_background("square-white") == "ffffff" and preset_background("2x2") is None
    assert layout_from_text() is None
    four = layout_from_text(padding="0.1 0.2 0.3 0.4")
    assert four is not None and four.padding.left == Length(0.4) and four.canvas == "original"


@pytest.mark.parametrize(
    ("canvas", "padding", "align", "words"),
    [
        ("2000by2000", None, None, "WIDTHxHEIGHT"),
        (None, "60%", None, "at most 49%"),
        (None, "1 2 3", None, "1, 2 or 4 values"),
        (None, "wide", None, "a percentage"),
        (None, None, "middle", "use one of"),
    ],
)
def test_bad_layout_words_are_refused(
    canvas: str | None, padding: str | None, align: str | None, words: str
) -> None:
    from backdrop.imaging.layout_options import layout_from_text

    with pytest.raises(ValueError, match=words):
        layout_from_text(canvas, padding, align)
