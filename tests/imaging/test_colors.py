from __future__ import annotations

import pytest
from PIL import ImageColor

from backdrop.errors import InvalidColor
from backdrop.imaging.colors import CSS_COLORS, parse_color


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
