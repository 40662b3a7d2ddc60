"""Layout and shadow requests survive the order's JSON params unchanged."""

from __future__ import annotations

import json

from backdrop.imaging.layout import Layout, Length, Sides
from backdrop.imaging.output import OutputOptions
from backdrop.imaging.shadows import ShadowSpec


def test_layout_and_shadow_round_trip_through_json() -> None:
    options = OutputOptions(
        format="jpg",
        layout=Layout(
            canvas="size",
            size=(2000, 2000),
            padding=Sides(Length(0.08), Length(12, "px"), Length(0.1), Length(0)),
            position=(0.5, 0.6),
            scale=0.8,
        ),
        shadow=ShadowSpec("cast", opacity=0.4, angle=30.0),
    )
    stored = json.loads(json.dumps(options.to_params()))
    assert OutputOptions.from_params(stored) == options


def test_options_stored_before_layouts_read_as_none() -> None:
    stored = {"format": "png", "crop": True, "crop_margin": 3, "max_side": None, "channels": "rgba"}
    options = OutputOptions.from_params(stored)
    assert options.layout is None and options.shadow is None and options.crop


def test_roi_light_match_and_hard_matte_round_trip() -> None:
    from backdrop.imaging.layout import Region

    options = OutputOptions(
        roi=Region(Length(0.1), Length(20, "px"), Length(0.9), Length(1)),
        light_match=True,
        semitransparency=False,
        layout=Layout(canvas="subject", padding=Sides.all(Length(0.1, "subject"))),
    )
    stored = json.loads(json.dumps(options.to_params()))
    assert OutputOptions.from_params(stored) == options and options.staged
    assert not OutputOptions().staged
