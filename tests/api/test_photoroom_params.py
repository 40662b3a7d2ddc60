"""Photoroom's fields as backdrop's output options, and their way through an order's params."""

from __future__ import annotations

import pytest

from backdrop.api.photoroom.options import SHADOWS, check_edit, edit_layout, edit_options
from backdrop.api.photoroom.params import EditFields, parse_fields, parse_length
from backdrop.errors import InvalidRequest
from backdrop.imaging.layout import Layout, Length, Sides
from backdrop.kinds import Operation
from backdrop.orders.params import (
    BlurredBackground,
    RemovalParams,
    from_json,
    to_json,
)


def _fields(**values: str) -> EditFields:
    return parse_fields(EditFields, values)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1", Length(0.1)),
        ("0", Length(0.0)),
        (".49", Length(0.49)),
        ("30%", Length(0.3)),
        ("49%", Length(0.49)),
        ("100px", Length(100.0, "px")),
    ],
)
def test_lengths(text: str, expected: Length) -> None:
    length = parse_length("padding", text)
    assert length.unit == expected.unit and length.value == pytest.approx(expected.value)


@pytest.mark.parametrize(
    "text", ["0.5", "50%", "-1", "1e-2", "10 px", " 0.1", "0.1\n", "ten", "20000px"]
)
def test_bad_lengths_are_refused_naming_the_field(text: str) -> None:
    with pytest.raises(InvalidRequest, match="paddingTop"):
        parse_length("paddingTop", text)


def test_no_layout_field_means_no_layout() -> None:
    assert edit_layout(_fields()) is None
    assert edit_options(_fields(**{"export.format": "jpeg"})).layout is None


def test_a_marketplace_square_with_sides_and_alignment() -> None:
    fields = _fields(
        outputSize="2000x2000",
        padding="0.1",
        paddingBottom="40px",
        marginLeft="5%",
        scaling="fill",
        referenceBox="originalImage",
        horizontalAlignment="left",
        verticalAlignment="bottom",
        **{"shadow.mode": "ai.hard", "background.color": "FFFFFF"},
    )
    check_edit(fields, background_file=False)
    options = edit_options(fields)
    assert options.layout == Layout(
        canvas="size",
        size=(2000, 2000),
        padding=Sides(Length(0.1), Length(0.1), Length(40.0, "px"), Length(0.1)),
        margin=Sides(left=Length(0.05)),
        scaling="fill",
        reference="original",
        horizontal="left",
        vertical="bottom",
        max_upscale=4.0,
    )
    assert options.shadow == SHADOWS["ai.hard"] and options.shadow.mode == "cast"
    assert options.format == "png"


@pytest.mark.parametrize(
    "output_size, canvas",
    [("auto", "original"), ("originalImage", "original"), ("croppedSubject", "subject")],
)
def test_output_sizes(output_size: str, canvas: str) -> None:
    layout = edit_layout(_fields(outputSize=output_size, maxWidth="800", padding="0.1"))
    assert layout is not None and layout.canvas == canvas and layout.max_width == 800


def test_shadow_modes_map_to_the_stage() -> None:
    assert {mode: spec.mode for mode, spec in SHADOWS.items()} == {
        "ai.soft": "contact",
        "ai.hard": "cast",
        "ai.floating": "floating",
    }


def test_options_survive_the_orders_params() -> None:
    """What the route asks for is what the worker reads back from the order row."""
    fields = _fields(outputSize="1000x800", padding="8%", **{"shadow.mode": "ai.floating"})
    params = RemovalParams(
        background=BlurredBackground("uploads/k/1.jpg", 0.02), output=edit_options(fields)
    )
    assert from_json(Operation.REMOVE_BACKGROUND, to_json(params)) == params
