"""Shadows: darkening on the floor where each mode puts it, never on the subject, semi-
transparent black on a transparent result, and fast."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backdrop.imaging.shadows import SHADOW_MODES, ShadowSpec, ground_layer
from backdrop.imaging.staging import match_light, stage

RED = (200, 30, 30)


def _subject(size: int = 1000) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle(
        (int(size * 0.4), int(size * 0.3), int(size * 0.6), int(size * 0.7)), fill=(*RED, 255)
    )
    return image


@pytest.mark.parametrize("mode", SHADOW_MODES)
def test_every_mode_darkens_the_floor_not_the_subject(mode: str) -> None:
    image = _subject()
    staged = stage(image, shadow=ShadowSpec(mode), background=(255, 255, 255, 255))  # type: ignore[arg-type]
    pixels = np.asarray(staged.output).astype(int)
    solid = np.asarray(image.getchannel("A")) == 255
    # The subject's own pixels are exactly its colours.
    assert (pixels[solid] == RED).all()
    # Somewhere on the background got darker (or, for a reflection, took the subject's red).
    changed = (pixels[~solid] != 255).any(axis=1)
    assert changed.sum() > 500
    # Nothing changes far above the subject (shadows live on the floor or beside it).
    assert (pixels[:150] == 255).all()


def test_contact_shadow_sits_right_under_the_base() -> None:
    layer = ground_layer(np.asarray(_subject().getchannel("A")), ShadowSpec("contact", 0.8))
    column = layer.alpha[:, 500].astype(int)
    assert column[705] > 60  # just under the base (row 700)
    assert column[760] < column[705] and column[850] < 5


def test_drop_shadow_falls_away_from_the_light() -> None:
    alpha = np.asarray(_subject().getchannel("A"))
    from_left = ground_layer(alpha, ShadowSpec("drop", angle=-90)).alpha.astype(int)
    # Light from the left: the shadow shows to the right of the subject, not the left.
    assert from_left[500, 610:640].mean() > from_left[500, 360:390].mean() + 20


def test_cast_shadow_grows_softer_with_distance() -> None:
    alpha = np.asarray(_subject().getchannel("A"))
    layer = ground_layer(alpha, ShadowSpec("cast", 0.8, softness=0.6, angle=90, length=1.0))
    cast = layer.alpha.astype(int)
    # Light from the right: the shadow runs left along the floor band behind the base.
    band = cast[560:700, :400]
    assert band.max() > 40
    # Its edge is sharper near the feet than at the tip: compare the steepest step in each half.
    near = np.abs(np.diff(cast[690, 250:400])).max()
    far = np.abs(np.diff(cast[620, 0:250])).max() if cast[620, :250].max() else 0
    assert near > far


def test_on_transparent_the_shadow_is_semi_transparent_black() -> None:
    staged = stage(_subject(), shadow=ShadowSpec("floating", 0.6))
    pixels = np.asarray(staged.output)
    assert staged.output.mode == "RGBA"
    under = pixels[720:780, 450:550]
    shaded = under[under[..., 3] > 0]
    assert shaded.size and (shaded[..., :3] == 0).all() and shaded[..., 3].max() <= 0.6 * 255 + 1
    assert pixels[10, 10, 3] == 0  # far away: still fully transparent
    assert (pixels[400, 500] == (*RED, 255)).all()
    # The mask is the subject alone; the extent holds the shadow too.
    assert np.asarray(staged.mask)[750, 500] == 0 and np.asarray(staged.extent)[750, 500] > 0


def test_on_an_image_background_it_darkens_the_image() -> None:
    backdrop = Image.new("RGB", (300, 300), (120, 160, 200))
    staged = stage(_subject(), shadow=ShadowSpec("contact", 0.9), background=backdrop)
    pixel = np.asarray(staged.output)[705, 500].astype(int)
    assert (pixel < (120, 160, 200)).all() and (pixel * (160 / 120) - (pixel[1])).any()


def test_light_match_is_bounded() -> None:
    subject = np.full((50, 50, 3), 128, np.uint8)
    alpha = np.full((50, 50), 255, np.uint8)
    dark_warm = np.zeros((50, 50, 3), np.uint8)
    dark_warm[...] = (90, 20, 0)
    matched = match_light(subject, alpha, dark_warm).astype(int)[0, 0]
    assert matched[0] > matched[2]  # warmer
    assert (np.abs(matched - 128) <= 0.15 * 128).all()  # within ±10 % exposure ±4 % balance
    assert matched.mean() < 128  # darker


def test_bad_shadow_values_are_refused() -> None:
    with pytest.raises(ValueError, match="opacity"):
        ShadowSpec("drop", opacity=1.5)
    with pytest.raises(ValueError, match="mode"):
        ShadowSpec("sideways")  # type: ignore[arg-type]
