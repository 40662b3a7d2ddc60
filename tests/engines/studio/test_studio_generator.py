"""The engine as a whole (`backdrop.engines.studio.StudioGenerator`)."""

from __future__ import annotations

from itertools import combinations
from typing import ClassVar

import numpy as np
import pytest
from PIL import Image

from backdrop.engines.generation import GenerationRequest
from backdrop.engines.generators import Generators, create_generator
from backdrop.engines.studio import StudioGenerator, explain
from backdrop.engines.studio.understanding import PromptUnderstanding
from backdrop.settings import GenerationSettings
from tests.engines.generation_contract import GenerationContract

from .conftest import background, noisy_subject

# The project's own prompts (the shared example file is for the contact sheet in bench/; the
# tests must not depend on files outside the repository).
PROMPTS = [
    "plain white studio background",
    "charcoal grey paper backdrop",
    "baby blue studio with soft light",
    "dark emerald gradient",
    "white marble kitchen counter in the morning",
    "old wooden table in a cosy coffee shop",
    "black stone slab under a hard spotlight",
    "concrete floor of an empty warehouse",
    "sandy beach at sunset with gentle waves",
    "turquoise lagoon on a tropical island at noon",
    "snow covered mountains on a clear winter day",
    "foggy pine forest early in the morning",
    "lavender field in the evening sun",
    "city skyline at night with blurred lights",
    "neon lit alley in the rain",
    "bright scandinavian living room",
    "mossy rocks by a stream",
    "orange desert dunes under a hot sky",
    "deep underwater with sun rays",
    "colourful geometric shapes, memphis style",
    "festive christmas room with fairy lights",
    "spooky halloween night with pumpkins",
    "terracotta wall with palm shadows",
    "product on a podium, pastel green",
    "white tiled bathroom shelf with a plant",
]


def test_the_default_engine_id_builds_the_studio() -> None:
    """What a worker builds when an order names no engine, or names "studio"."""
    settings = GenerationSettings()
    assert isinstance(create_generator(settings.engine, settings), StudioGenerator)
    assert isinstance(Generators(settings).get(), StudioGenerator)


@pytest.mark.parametrize("size", [(96, 128), (160, 90), (50, 50), (300, 40), (7, 301)])
def test_output_is_rgb_at_the_input_size(generator: StudioGenerator, size: tuple[int, int]) -> None:
    width, height = size
    image, alpha = noisy_subject(
        width,
        height,
        left=width // 3,
        right=max(width // 3 + 1, 2 * width // 3),
        top=height // 4,
        bottom=max(height // 4 + 1, 3 * height // 4),
    )
    result = generator.generate(GenerationRequest(image, alpha, "sunset over the sea", seed=1))
    assert result.mode == "RGB" and result.size == size


def test_same_seed_same_bytes_and_no_seed_means_the_prompt_decides(
    generator: StudioGenerator,
) -> None:
    image, alpha = noisy_subject()
    first = generator.generate(GenerationRequest(image, alpha, "misty pine forest", seed=42))
    assert (
        first.tobytes()
        == generator.generate(
            GenerationRequest(image, alpha, "misty pine forest", seed=42)
        ).tobytes()
    )
    unseeded = generator.generate(GenerationRequest(image, alpha, "misty pine forest"))
    assert (
        unseeded.tobytes()
        == generator.generate(GenerationRequest(image, alpha, "misty pine forest")).tobytes()
    )


def test_different_seeds_differ(generator: StudioGenerator) -> None:
    one = background(generator, "night city skyline with bokeh lights", seed=1)
    two = background(generator, "night city skyline with bokeh lights", seed=2)
    assert np.abs(one - two).mean() > 2


def test_any_int_is_a_seed(generator: StudioGenerator) -> None:
    image, alpha = noisy_subject()
    for seed in (-5, 2**70):
        assert (
            generator.generate(GenerationRequest(image, alpha, "wood", seed=seed)).size
            == image.size
        )


@pytest.mark.parametrize(
    "prompt",
    [
        "plain white studio background",
        "night city skyline with bokeh lights",
        "tropical beach at noon",
        "neon purple to blue gradient, glowing",
    ],
)
def test_subject_pixels_are_kept(generator: StudioGenerator, prompt: str) -> None:
    image, alpha = noisy_subject(width=160, height=200, left=50, right=110, top=40, bottom=170)
    result = generator.generate(GenerationRequest(image, alpha, prompt, seed=5, framing="keep"))
    opaque = alpha == 255
    change = np.abs(np.asarray(image).astype(int)[opaque] - np.asarray(result).astype(int)[opaque])
    assert change.mean() <= 8


def test_distinct_prompts_give_clearly_distinct_backgrounds(generator: StudioGenerator) -> None:
    prompts = PROMPTS
    backgrounds = {p: background(generator, p) for p in prompts}
    differences = {
        (a, b): float(np.abs(backgrounds[a] - backgrounds[b]).mean())
        for a, b in combinations(prompts, 2)
    }
    close = {pair: round(d, 1) for pair, d in differences.items() if d <= 20}
    # Nearly every pair is clearly apart; the few close ones are near-synonyms (named below).
    assert len(close) <= len(differences) // 50, close
    assert min(differences.values()) > 8, close


def test_style_image_sets_the_palette(generator: StudioGenerator) -> None:
    image, alpha = noisy_subject()
    reddish = Image.new("RGB", (32, 32), (190, 70, 50))
    bluish = Image.new("RGB", (32, 32), (50, 80, 190))
    results = []
    for style in (reddish, bluish):
        out = np.asarray(
            generator.generate(GenerationRequest(image, alpha, "studio", seed=1, style_image=style))
        ).astype(float)
        back = out[alpha == 0]
        results.append(back[:, 0].mean() - back[:, 2].mean())
    assert results[0] > results[1] + 60


def test_the_subject_casts_a_shadow_below_it(generator: StudioGenerator) -> None:
    _, alpha = noisy_subject(width=160, height=120, left=20, right=60, top=30, bottom=90)
    flat = Image.new("RGB", (160, 120), (128, 128, 128))
    empty = np.zeros_like(alpha)
    with_subject = np.asarray(
        generator.generate(
            GenerationRequest(flat, alpha, "plain white studio background", seed=9, framing="keep")
        )
    ).astype(float)
    without = np.asarray(
        generator.generate(GenerationRequest(flat, empty, "plain white studio background", seed=9))
    ).astype(float)
    under = (slice(90, 95), slice(25, 55))
    assert without[under].mean() - with_subject[under].mean() > 10


def test_a_mismatched_matte_is_a_programming_error(generator: StudioGenerator) -> None:
    image, _ = noisy_subject()
    with pytest.raises(ValueError, match="does not match"):
        generator.generate(GenerationRequest(image, np.zeros((10, 10), dtype=np.uint8), "studio"))


def test_tiny_images_and_empty_or_full_mattes(generator: StudioGenerator) -> None:
    for size in [(1, 1), (3, 200), (200, 3)]:
        image = Image.new("RGB", size, (1, 2, 3))
        for fill in (0, 255):
            alpha = np.full((size[1], size[0]), fill, dtype=np.uint8)
            assert (
                generator.generate(GenerationRequest(image, alpha, "sunset", seed=0)).size == size
            )


def test_explain_gives_the_recipe() -> None:
    recipe = explain("desert dunes under a hot orange sky")
    assert recipe.setting == "landscape" and recipe.scene == "dunes"


def test_negative_prompt_changes_the_painted_scene(generator: StudioGenerator) -> None:
    image = Image.new("RGB", (64, 80), (0, 0, 0))
    alpha = np.zeros((80, 64), dtype=np.uint8)
    prompt = "christmas scene with warm fairy lights"
    plain = generator.generate(GenerationRequest(image, alpha, prompt, seed=3))
    unlit = generator.generate(
        GenerationRequest(image, alpha, prompt, seed=3, negative_prompt="fairy lights, bokeh")
    )
    # The warm points of light are gone: the wall is darker without them.
    assert np.asarray(plain).astype(float).mean() > np.asarray(unlit).astype(float).mean() + 3


class TestStudioContract(GenerationContract):
    """The checks every generation engine passes (tests/engines/generation_contract.py)."""

    # The studio engine nudges the subject toward the scene light (at most ±3 %).
    subject_tolerance: ClassVar[float] = 8.0
    places_subject: ClassVar[bool] = True

    @pytest.fixture
    def generator(self, understanding: PromptUnderstanding) -> StudioGenerator:
        return StudioGenerator(understanding)
