from __future__ import annotations

import pytest
from PIL import ImageColor

from backdrop.errors import InvalidColor
from backdrop.imaging.colors import CSS_COLORS, color_mentions, colors_in_text, parse_color


def test_the_table_holds_the_148_css_names_as_pillow_does() -> None:
    assert len(CSS_COLORS) == 148
    assert dict(ImageColor.colormap) == CSS_COLORS
    assert CSS_COLORS["rebeccapurple"] == "#663399"


def test_every_name_parses_to_its_hex_value() -> None:
    for name, code in CSS_COLORS.items():
        assert parse_color(name) == (*ImageColor.getrgb(code)[:3], 255), name


@pytest.mark.parametrize(
    "text", ["lightblue", "Light Blue", "LIGHT_BLUE", "light-blue", " lightBlue "]
)
def test_names_ignore_case_spaces_underscores_and_hyphens(text: str) -> None:
    assert parse_color(text) == (173, 216, 230, 255)


def test_grey_and_gray_are_both_accepted() -> None:
    assert parse_color("dark grey") == parse_color("darkgray") == (169, 169, 169, 255)
    assert parse_color("slate grey") == parse_color("SlateGray") == (112, 128, 144, 255)


def test_transparent() -> None:
    assert parse_color("transparent") == (0, 0, 0, 0)
    assert parse_color("Transparent") == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#f80", (255, 136, 0, 255)),
        ("#f808", (255, 136, 0, 136)),
        ("#FF8800", (255, 136, 0, 255)),
        ("#ff880080", (255, 136, 0, 128)),
        ("#00000000", (0, 0, 0, 0)),
        ("ff8800", (255, 136, 0, 255)),
        ("F80", (255, 136, 0, 255)),
        ("  #123456  ", (18, 52, 86, 255)),
    ],
)
def test_hex_forms(text: str, expected: tuple[int, int, int, int]) -> None:
    assert parse_color(text) == expected


@pytest.mark.parametrize(
    "text",
    ["bluish", "", "   ", "#12345", "#1234567", "#ggg", "rgb(1, 2, 3)", "##fff", "light  bleu"],
)
def test_unknown_colours_raise_naming_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidColor) as raised:
        parse_color(text)
    assert "#RRGGBB" in raised.value.detail
    assert "CSS colour name" in raised.value.detail
    assert repr(text) in raised.value.detail


def test_colors_in_text_in_order_of_appearance() -> None:
    text = "A light blue wall with sky blue and Navy accents, a #ff8800 lamp and a red chair"
    assert colors_in_text(text) == [
        (173, 216, 230),
        (135, 206, 235),
        (0, 0, 128),
        (255, 136, 0),
        (255, 0, 0),
    ]


def test_colors_in_text_joins_the_longest_name() -> None:
    assert colors_in_text("light sea green") == [(32, 178, 170)]
    assert colors_in_text("dark_slate-grey tiles") == [(47, 79, 79)]


def test_colors_in_text_ignores_words_that_only_contain_a_name() -> None:
    assert colors_in_text("a tired bread on redwood, goldenly lit") == []


def test_colors_in_text_ignores_non_colours() -> None:
    assert colors_in_text("a transparent vase, #zzz, #12345, nothing else") == []
    assert colors_in_text("") == []


def test_colors_in_text_drops_the_alpha_of_hex_codes() -> None:
    assert colors_in_text("tint #11223380") == [(17, 34, 51)]


def test_color_mentions_name_each_colour() -> None:
    assert color_mentions("Sky Blue walls, #FF8800 trim") == [
        ("skyblue", (135, 206, 235)),
        ("#ff8800", (255, 136, 0)),
    ]
