"""The CPU work of a batched removal order, as functions run in the stage processes.

`prepare`: decode (EXIF turned upright), resize to the model's input: what the model reads.
`finish`: the prediction to a full-size alpha (refinement), foreground colours, compositing
on the order's background, encoding of the output and the mask.

Each takes and returns plain bytes and arrays (pickled to and from the processes). `finish`
decodes the photo again rather than receiving it: at 1 MP a JPEG decode is ~7 ms, a tenth of
pickling a decoded photo through the parent both ways, and the parent then holds only bytes.
Errors are the domain's (CorruptImage, ...), raised in the process and re-raised in the
parent, where they fail the order they belong to and no other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from backdrop.common.memory import release_free_memory
from backdrop.engines import pipeline
from backdrop.engines.batch_model import Pixels, Recipe
from backdrop.imaging.decode import load_image
from backdrop.imaging.output import OutputOptions
from backdrop.orders.params import BackgroundSpec, to_pipeline


@dataclass(frozen=True)
class Prepared:
    """What the model reads for one order, and how long preparing it took."""

    pixels: Pixels
    scale: float
    seconds: float


@dataclass(frozen=True)
class Finished:
    """The encoded output and mask of one order."""

    output: bytes
    content_type: str
    extension: str
    mask: bytes
    seconds: float


def prepare(data: bytes, recipe: Recipe, max_pixels: int, complete: bool) -> Prepared:
    started = time.perf_counter()
    try:
        image = load_image(data, max_pixels=max_pixels, complete=complete)
        pixels, scale = recipe.model_input(image)
        return Prepared(pixels, scale, time.perf_counter() - started)
    finally:
        release_free_memory()


class _KnownAlpha:
    """A segmenter that answers the mask already made from the batch's prediction, so the
    rest is exactly `pipeline.remove_background` (an input's own alpha included)."""

    def __init__(self, model_id: str, alpha: npt.NDArray[np.uint8]) -> None:
        self.model_id = model_id
        self._alpha = alpha

    def predict(self, image: Image.Image) -> npt.NDArray[np.uint8]:
        return self._alpha


def finish(
    data: bytes,
    prediction: npt.NDArray[Any],
    recipe: Recipe,
    model_id: str,
    max_pixels: int,
    background: BackgroundSpec,
    backgrounds: dict[str, bytes],
    options: OutputOptions,
) -> Finished:
    started = time.perf_counter()
    try:
        image = load_image(data, max_pixels=max_pixels)
        alpha = recipe.mask(prediction, image)

        def load(key: str) -> Image.Image:
            # A blurred background is the order's own photo, not one of `backgrounds`.
            return (
                image
                if key not in backgrounds
                else load_image(backgrounds[key], max_pixels=max_pixels)
            )

        rendered = pipeline.removal(
            image,
            _KnownAlpha(model_id, alpha),  # type: ignore[arg-type]
            to_pipeline(background, load),
            options,
            max_pixels,
        )
        return Finished(
            rendered.output,
            rendered.options.content_type,
            rendered.options.format,
            rendered.mask,
            time.perf_counter() - started,
        )
    finally:
        release_free_memory()


def warm() -> int:
    """Nothing: submitted once per process at start so imports happen before orders come."""
    return 0
