"""How the CLI's `--background` value reads when the pipeline runs locally."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines import pipeline
from backdrop.imaging.colors import parse_color
from backdrop.imaging.decode import load_image


def parse_background(value: str | None, max_pixels: int) -> pipeline.Background:
    """transparent / colour / path to an image file, as the CLI's --background takes it."""
    if value is None or not value.strip() or value.strip().lower() == "transparent":
        return pipeline.Transparent()
    path = Path(value)
    if path.is_file():
        return pipeline.BackdropImage(load_image(path, max_pixels=max_pixels))
    return pipeline.SolidColor(parse_color(value))
