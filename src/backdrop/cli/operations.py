"""The per-image operations of `backdrop remove` and `backdrop generate`, local or remote."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from backdrop.client import Client
from backdrop.engines import pipeline
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.studio import StudioGenerator
from backdrop.imaging.compose import encode_jpeg, encode_png
from backdrop.imaging.decode import load_image
from backdrop.imaging.formats import sniff_content_type

REMOVE_SUFFIXES = (".png", ".mask.png")
GENERATE_SUFFIXES = (".jpg",)


@dataclass
class LocalRemove:
    """The workers' pipeline in this process; one segmenter shared by every thread."""

    segmenter: Segmenter
    background: pipeline.Background
    max_pixels: int
    suffixes: tuple[str, ...] = REMOVE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = load_image(source, max_pixels=self.max_pixels)
        cutout = pipeline.remove_background(image, self.segmenter, self.background)
        return encode_png(cutout.output), encode_png(cutout.mask)


@dataclass
class LocalGenerate:
    segmenter: Segmenter
    generator: StudioGenerator
    prompt: str
    seed: int | None
    max_pixels: int
    suffixes: tuple[str, ...] = GENERATE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        image = load_image(source, max_pixels=self.max_pixels)
        result = pipeline.generate_background(
            image, self.segmenter, self.generator, self.prompt, seed=self.seed
        )
        return (encode_jpeg(result),)


@dataclass
class RemoteRemove:
    """Through the SDK: upload, order, wait, download output and mask."""

    client: Client
    background: str
    suffixes: tuple[str, ...] = REMOVE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        result = self.client.remove_background(source, self.background)
        output = result.output_bytes()
        # Outputs are named .png: a server answering JPEG (on a colour) is converted, not misnamed.
        return _as_png(output), _as_png(result.mask_bytes())


@dataclass
class RemoteGenerate:
    client: Client
    prompt: str
    suffixes: tuple[str, ...] = GENERATE_SUFFIXES

    def process(self, source: Path) -> tuple[bytes, ...]:
        result = self.client.generate_background(source, self.prompt)
        return (_as_jpeg(result.output_bytes()),)


def _as_png(data: bytes) -> bytes:
    if sniff_content_type(data[:32]) == "image/png":
        return data
    with Image.open(io.BytesIO(data)) as image:
        return encode_png(image)


def _as_jpeg(data: bytes) -> bytes:
    if sniff_content_type(data[:32]) == "image/jpeg":
        return data
    with Image.open(io.BytesIO(data)) as image:
        return encode_jpeg(image)
