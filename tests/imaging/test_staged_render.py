"""The staged removal end to end without a model: roi, a hard matte, the layout's geometry on
result and mask alike, and what render crops and hands out as the alpha channel."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from backdrop.engines import pipeline
from backdrop.imaging.layout import Layout, Length, Region, Sides
from backdrop.imaging.output import OutputOptions, render
from backdrop.imaging.shadows import ShadowSpec


class SquareSegmenter:
    """A matte with a solid square (rows/cols 100..199) and a soft ramp beside it."""

    model_id = "square"

    def predict(self, image: Image.Image) -> np.ndarray:
        alpha = np.zeros((image.height, image.width), np.uint8)
        alpha[100:200, 100:200] = 255
        alpha[100:200, 200:210] = 100  # a see-through fringe
        return alpha


def _photo() -> Image.Image:
    return Image.new("RGB", (400, 300), (30, 120, 200))


def _open(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_layout_moves_result_and_mask_together() -> None:
    layout = Layout(canvas="size", size=(600, 600), padding=Sides.all(Length(0.25)), max_upscale=4)
    cut = pipeline.product_photo(
        _photo(), SquareSegmenter(), pipeline.SolidColor((255, 255, 255, 255)), layout=layout
    )
    assert cut.output.size == cut.mask.size == (600, 600) and cut.output.mode == "RGB"
    solid = np.asarray(cut.mask) >= 128
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    # The subject's box (alpha >= 0.5: the square, not its fringe) fills the 300 x 300 between
    # the 25 % paddings; the fringe goes along, outside it.
    assert (rows[0], rows[-1] + 1) == (150, 450)
    assert cols[0] == 150 and abs(cols[-1] + 1 - 450) <= 1  # resampling blurs the box's edge
    assert np.asarray(cut.mask)[300, 465] > 0
    assert tuple(np.asarray(cut.output)[300, 250]) == (30, 120, 200)


def test_roi_and_a_hard_matte() -> None:
    roi = Region(Length(0), Length(0), Length(150, "px"), Length(1))
    cut = pipeline.product_photo(
        _photo(), SquareSegmenter(), pipeline.Transparent(), roi=roi, semitransparency=False
    )
    alpha = np.asarray(cut.mask)
    assert alpha[150, 120] == 255 and alpha[150, 160] == 0  # cut at x = 150
    assert set(np.unique(alpha)) == {0, 255}


def test_crop_keeps_the_shadow_and_alpha_channels_carry_it() -> None:
    shadow = ShadowSpec("floating", opacity=0.8)
    cut = pipeline.product_photo(_photo(), SquareSegmenter(), pipeline.Transparent(), shadow=shadow)
    assert cut.extent is not None
    cropped = render(cut.output, cut.mask, OutputOptions(crop=True, shadow=shadow), cut.extent)
    image, mask = _open(cropped.output), _open(cropped.mask)
    assert image.shape[:2] == mask.shape
    # Taller than the subject's 100 rows: the floating shadow below it is kept.
    assert image.shape[0] > 105 and image[-3:, :, 3].max() > 0
    alpha = render(cut.output, cut.mask, OutputOptions(channels="alpha", shadow=shadow), cut.extent)
    matte = _open(alpha.output)
    assert matte.ndim == 2 and matte[215:225, 150].max() > 0  # the shadow is in the alpha
    assert _open(alpha.mask)[215:225, 150].max() == 0  # the mask is the subject alone
