from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backdrop.engines.studio import (
    DEFAULT_PALETTE,
    MOOD_PALETTES,
    StudioGenerator,
    palette_for_prompt,
)

WIDTH, HEIGHT = 192, 144


def _subject(left: int = 70, width: int = 50) -> tuple[Image.Image, np.ndarray]:
    """A noisy subject (so "unchanged" is a strong check) standing in a box, and its matte."""
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8))
    matte = Image.new("L", (WIDTH, HEIGHT), 0)
    ImageDraw.Draw(matte).rectangle((left, 30, left + width - 1, 109), fill=255)
    return image, np.asarray(matte).copy()


def _background(prompt: str) -> np.ndarray:
    """What the engine paints where there is no subject at all."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    alpha = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    result = StudioGenerator().generate(image, alpha, prompt, seed=3)
    return np.asarray(result).astype(np.float64)


def test_identity() -> None:
    assert StudioGenerator.engine_id == "studio"


def test_output_is_rgb_at_the_input_size() -> None:
    image, alpha = _subject()
    result = StudioGenerator().generate(image, alpha, "sunset over mountains", seed=1)
    assert result.mode == "RGB"
    assert result.size == (WIDTH, HEIGHT)


def test_same_seed_and_prompt_give_identical_bytes() -> None:
    image, alpha = _subject()
    first = StudioGenerator().generate(image, alpha, "forest", seed=42)
    second = StudioGenerator().generate(image, alpha, "forest", seed=42)
    assert first.tobytes() == second.tobytes()


def test_without_a_seed_the_prompt_decides() -> None:
    image, alpha = _subject()
    first = StudioGenerator().generate(image, alpha, "marble")
    second = StudioGenerator().generate(image, alpha, "marble")
    assert first.tobytes() == second.tobytes()


def test_any_int_is_a_seed() -> None:
    image, alpha = _subject()
    generator = StudioGenerator()
    negative = generator.generate(image, alpha, "wood", seed=-5)
    assert negative.tobytes() == generator.generate(image, alpha, "wood", seed=-5).tobytes()
    assert generator.generate(image, alpha, "wood", seed=2**70).size == (WIDTH, HEIGHT)


def test_the_seed_changes_only_the_grain() -> None:
    image, alpha = _subject()
    first = np.asarray(StudioGenerator().generate(image, alpha, "ocean", seed=1)).astype(int)
    second = np.asarray(StudioGenerator().generate(image, alpha, "ocean", seed=2)).astype(int)
    difference = np.abs(first - second)
    assert difference.max() > 0
    assert difference.mean() < 3


def test_subject_pixels_are_untouched_where_the_matte_is_opaque() -> None:
    image, alpha = _subject()
    result = StudioGenerator().generate(image, alpha, "night", seed=5)
    opaque = alpha == 255
    before = np.asarray(image).astype(int)[opaque]
    after = np.asarray(result).astype(int)[opaque]
    assert np.abs(before - after).mean() < 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("sunset over mountains", "white studio"),
        ("sunset over mountains", "dark blue"),
        ("white studio", "dark blue"),
        ("a quiet forest", "snow in winter"),
    ],
)
def test_distinct_prompts_give_clearly_different_backgrounds(first: str, second: str) -> None:
    assert np.abs(_background(first) - _background(second)).mean() > 20


def test_the_wall_follows_a_named_colour() -> None:
    red, green, blue = _background("dark blue")[: HEIGHT // 3].reshape(-1, 3).mean(axis=0)
    assert blue > 100 and blue > 2 * red and blue > 2 * green


def test_the_subject_casts_a_shadow_on_the_floor_below_it() -> None:
    # Two renders that differ only in where the subject stands; same rows, so the same horizon.
    left_image, left_alpha = _subject(left=20)
    right_image, right_alpha = _subject(left=120)
    generator = StudioGenerator()
    with_left = np.asarray(generator.generate(left_image, left_alpha, "studio", seed=9))
    with_right = np.asarray(generator.generate(right_image, right_alpha, "studio", seed=9))
    # Just below the left subject's base (rows 110..114, columns 25..64).
    under_left = (slice(110, 115), slice(25, 65))
    shadowed = with_left[under_left].astype(float).mean()
    lit = with_right[under_left].astype(float).mean()
    assert lit - shadowed > 10


def test_palette_choice() -> None:
    assert palette_for_prompt("sunset over mountains") == MOOD_PALETTES["sunset"]
    assert palette_for_prompt("Relaxing BEACH vibes") == MOOD_PALETTES["beach"]
    assert palette_for_prompt("") == DEFAULT_PALETTE
    assert palette_for_prompt("something unremarkable") == DEFAULT_PALETTE
    # A named colour wins over a mood word.
    assert palette_for_prompt("forest in dark blue").wall_bottom == (0, 0, 139)
    two = palette_for_prompt("from #ff0000 to #0000ff")
    assert (two.wall_top, two.wall_bottom) == ((255, 0, 0), (0, 0, 255))


def test_colour_names_that_are_moods_count_as_moods_when_alone() -> None:
    assert palette_for_prompt("snow in winter") == MOOD_PALETTES["winter"]
    assert palette_for_prompt("white studio") == MOOD_PALETTES["studio"]
    # With another colour named, they are colours again.
    mixed = palette_for_prompt("navy and white")
    assert (mixed.wall_top, mixed.wall_bottom) == ((0, 0, 128), (255, 255, 255))


def test_a_mismatched_matte_is_a_programming_error() -> None:
    image, _ = _subject()
    with pytest.raises(ValueError, match="does not match"):
        StudioGenerator().generate(image, np.zeros((WIDTH, HEIGHT), dtype=np.uint8), "studio")


def test_tiny_images_and_empty_mattes_work() -> None:
    generator = StudioGenerator()
    for size in [(1, 1), (3, 200), (200, 3)]:
        image = Image.new("RGB", size, (1, 2, 3))
        for fill in (0, 255):
            alpha = np.full((size[1], size[0]), fill, dtype=np.uint8)
            assert generator.generate(image, alpha, "sunset", seed=0).size == size
