"""How the CLI's `--background` value reads when the pipeline runs locally."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines import pipeline
from backdrop.imaging.decode import load_image
from backdrop.orders.params import background_from_text, to_pipeline


def parse_background(value: str | None, max_pixels: int) -> pipeline.Background:
    """transparent / colour / path to an image file, as the CLI's --background takes it."""
    if value is not None and value.strip() and Path(value).is_file():
        return pipeline.BackdropImage(load_image(Path(value), max_pixels=max_pixels))
    return to_pipeline(background_from_text(value))
