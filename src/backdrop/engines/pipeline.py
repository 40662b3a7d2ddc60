"""The two operations as image functions: segment, then compose. No I/O, no database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from backdrop.engines.generation import BackgroundGenerator, Framing, GenerationRequest
from backdrop.engines.segmentation import Segmenter
from backdrop.imaging import compose
from backdrop.imaging.layout import Layout, Region
from backdrop.imaging.output import OutputOptions, Rendered, render
from backdrop.imaging.shadows import ShadowSpec
from backdrop.imaging.staging import stage
from backdrop.observability.metrics import MODEL_TIME


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
    # Subject or shadow ("L"), where a shadow was drawn: what a crop to the content keeps.
    extent: Image.Image | None = None


# Rows of a large image are combined with its own alpha this many pixels at a time, so the
# uint16 temporaries stay ~1 MB instead of four full-size ones (320 MB at 40 MP).
_STRIP_PIXELS = 1 << 18


def subject_alpha(image: Image.Image, segmenter: Segmenter) -> np.ndarray:
    """The subject's alpha; an input that is already partly transparent stays so."""
    with MODEL_TIME.labels(getattr(segmenter, "model_id", "unknown")).time():
        alpha = segmenter.predict(image)
    if image.mode == "RGBA":
        alpha = _times_own_alpha(alpha, image)
    return alpha


def _times_own_alpha(alpha: np.ndarray, image: Image.Image) -> np.ndarray:
    """`alpha` times the image's own alpha, rounded: (a * own + 127) // 255; in place when
    the engine's array may be written (a mask read from Pillow may not)."""
    if not alpha.flags.writeable:
        alpha = alpha.copy()
    width, height = image.size
    rows = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        own = np.asarray(image.crop((0, top, width, bottom)).getchannel("A"), dtype=np.uint16)
        product = alpha[top:bottom].astype(np.uint16) * own
        product += 127
        product //= 255
        alpha[top:bottom] = product
    return alpha


def remove_background(image: Image.Image, segmenter: Segmenter, background: Background) -> Cutout:
    """Cut the subject out and put it on `background`."""
    alpha = subject_alpha(image, segmenter)
    # The subject's own colours in its soft edges, so no fringe of the old background shows;
    # made strip by strip as the composite reads them, never as a full-size image.
    rgb = compose.Foreground(image, alpha)
    output: Image.Image
    if isinstance(background, SolidColor) and background.rgba[3] > 0:
        output = compose.on_color(rgb, alpha, background.rgba)
    elif isinstance(background, BackdropImage):
        output = compose.on_image(rgb, alpha, background.image)
    else:
        output = compose.cutout(rgb, alpha)
    return Cutout(output=output, mask=compose.mask_image(alpha))


def product_photo(
    image: Image.Image,
    segmenter: Segmenter,
    background: Background,
    *,
    layout: Layout | None = None,
    shadow: ShadowSpec | None = None,
    light_match: bool = False,
    roi: Region | None = None,
    semitransparency: bool = True,
    max_pixels: int | None = None,
) -> Cutout:
    """Cut the subject out, lay it out on a canvas, draw its shadow, then put it on
    `background` (imaging/staging.py); the mask gets the same geometry.

    `roi`: only that region of the input can be subject (remove.bg's); `semitransparency`
    False: the matte is made hard, every pixel subject or not."""
    alpha = subject_alpha(image, segmenter)
    if roi is not None:
        left, top, right, bottom = roi.box(image.width, image.height)
        kept = np.zeros_like(alpha)
        kept[top:bottom, left:right] = alpha[top:bottom, left:right]
        alpha = kept
    if not semitransparency:
        alpha = np.where(alpha >= 128, 255, 0).astype(np.uint8)
    cut = compose.cutout(compose.Foreground(image, alpha), alpha)
    behind: Image.Image | tuple[int, int, int, int] | None = None
    if isinstance(background, SolidColor):
        behind = background.rgba
    elif isinstance(background, BackdropImage):
        behind = background.image
    staged = stage(
        cut,
        layout=layout,
        shadow=shadow,
        background=behind,
        light_match=light_match,
        max_pixels=max_pixels,
    )
    return Cutout(staged.output, staged.mask, staged.extent if shadow is not None else None)


def removal(
    image: Image.Image,
    segmenter: Segmenter,
    background: Background,
    wanted: OutputOptions,
    max_pixels: int,
) -> Rendered:
    """A removal order's files, as the client asked for them: the plain cutout on its
    background, or the product stage (layout, shadow, light) when any of it was asked for.
    The per-order runner and the batching worker's finish stage both come here."""
    if wanted.staged:
        cutout = product_photo(
            image,
            segmenter,
            background,
            layout=wanted.layout,
            shadow=wanted.shadow,
            light_match=wanted.light_match,
            roi=wanted.roi,
            semitransparency=wanted.semitransparency,
            max_pixels=max_pixels,
        )
    else:
        cutout = remove_background(image, segmenter, background)
    return render(cutout.output, cutout.mask, wanted, cutout.extent)


def generate_background(
    image: Image.Image,
    segmenter: Segmenter,
    generator: BackgroundGenerator,
    prompt: str,
    *,
    seed: int | None = None,
    negative_prompt: str | None = None,
    style_image: Image.Image | None = None,
    framing: Framing = "place",
) -> Image.Image:
    """The subject on a new background built from `prompt`, at the input's size; `framing`
    says whether the engine may place the subject ("place") or keeps the photo's ("keep")."""
    alpha = subject_alpha(image, segmenter)
    request = GenerationRequest(
        image=image.convert("RGB"),
        alpha=alpha,
        prompt=prompt,
        seed=seed,
        negative_prompt=negative_prompt,
        style_image=style_image.convert("RGB") if style_image is not None else None,
        framing=framing,
    )
    return generator.generate(request)
