"""One 1 MP order of each kind, timed on this machine: what the estimates start from."""

from __future__ import annotations

import time

import numpy as np
from PIL import Image

from backdrop.engines import pipeline
from backdrop.engines.generators import Generators
from backdrop.engines.segmenters import Segmenters
from backdrop.imaging.compose import encode_jpeg
from backdrop.imaging.output import OutputOptions, render
from backdrop.kinds import Operation

# 1152 x 864: one megapixel in a camera's 4:3.
_SIZE = (1152, 864)


def sample_photo() -> Image.Image:
    """A photo-like 1 MP image: a soft gradient with a round subject in front."""
    width, height = _SIZE
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack([x / width * 120 + 60, y / height * 100 + 80, 150 - x / width * 50], -1)
    inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2
    background[inside] = (200, 60, 40)
    return Image.fromarray(background.astype(np.uint8))


def measure_orders(segmenters: Segmenters, generators: Generators) -> dict[Operation, float]:
    """Seconds one 1 MP order of each kind takes here, model and post-processing included."""
    photo = sample_photo()
    # Generation first: the model's first run after loading is slower, and over-quoting a
    # generation is the safer side (a LightX client gives up on an order it thinks is late).
    started = time.perf_counter()
    generated = pipeline.generate_background(
        photo, segmenters.get(), generators.get(), "a clean studio backdrop"
    )
    encode_jpeg(generated)
    generation = time.perf_counter() - started
    started = time.perf_counter()
    cutout = pipeline.remove_background(photo, segmenters.get(), pipeline.Transparent())
    render(cutout.output, cutout.mask, OutputOptions())
    removal = time.perf_counter() - started
    return {
        Operation.REMOVE_BACKGROUND: removal,
        Operation.GENERATE_BACKGROUND: generation,
        Operation.PRODUCT_PHOTOSHOOT: generation,
    }
