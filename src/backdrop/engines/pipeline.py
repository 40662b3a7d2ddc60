"""The two operations as image functions: segment, then compose. No I/O, no database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.engines.segmentation import Segmenter
from backdrop.engines.studio import StudioGenerator
from backdrop.imaging import compose


@dataclass(frozen=True)
class Transparent:
    """Keep only the subject, on transparency."""


@dataclass(frozen=True)
class SolidColor:
    rgba: tuple[int, int, int, int]


@dataclass(frozen=True)
class BackdropImage:
    """Another image, cover-fitted behind the subject."""

    image: Image.Image


Background = Transparent | SolidColor | BackdropImage


@dataclass(frozen=True)
class Cutout:
    output: Image.Image
    mask: Image.Image


def subject_alpha(image: Image.Image, segmenter: Segmenter) -> np.ndarray:
    """The subject's alpha; an input that is already partly transparent stays so."""
    alpha = segmenter.predict(image)
    if image.mode == "RGBA":
        own = np.asarray(image.getchannel("A"), dtype=np.uint16)
        alpha = ((alpha.astype(np.uint16) * own + 127) // 255).astype(np.uint8)
    return alpha


def remove_background(image: Image.Image, segmenter: Segmenter, background: Background) -> Cutout:
    """Cut the subject out and put it on `background`."""
    alpha = subject_alpha(image, segmenter)
    rgb = image.convert("RGB")
    output: Image.Image
    if isinstance(background, SolidColor) and background.rgba[3] > 0:
        output = compose.on_color(rgb, alpha, background.rgba)
    elif isinstance(background, BackdropImage):
        output = compose.on_image(rgb, alpha, background.image)
    else:
        output = compose.cutout(rgb, alpha)
    return Cutout(output=output, mask=compose.mask_image(alpha))


def generate_background(
    image: Image.Image,
    segmenter: Segmenter,
    generator: StudioGenerator,
    prompt: str,
    seed: int | None = None,
) -> Image.Image:
    """The subject on a new background built from `prompt`, at the input's size."""
    alpha = subject_alpha(image, segmenter)
    return generator.generate(image.convert("RGB"), alpha, prompt, seed=seed)
