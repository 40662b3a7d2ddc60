from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backdrop.engines.generation import GenerationRequest
from backdrop.engines.studio import StudioGenerator, shared_understanding
from backdrop.engines.studio.understanding import PromptUnderstanding


def noisy_subject(
    width: int = 96,
    height: int = 128,
    left: int = 36,
    right: int = 60,
    top: int = 40,
    bottom: int = 100,
) -> tuple[Image.Image, np.ndarray]:
    """A noisy photo (so "unchanged" is a strong check) with a box-shaped subject matte."""
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    matte = Image.new("L", (width, height), 0)
    ImageDraw.Draw(matte).rectangle((left, top, right - 1, bottom - 1), fill=255)
    return image, np.asarray(matte).copy()


def background(
    generator: StudioGenerator, prompt: str, size: tuple[int, int] = (64, 80), seed: int = 3
) -> np.ndarray:
    """What the engine paints where there is no subject at all."""
    image = Image.new("RGB", size, (0, 0, 0))
    alpha = np.zeros((size[1], size[0]), dtype=np.uint8)
    result = generator.generate(GenerationRequest(image, alpha, prompt, seed=seed))
    return np.asarray(result).astype(np.float64)


@pytest.fixture(scope="session")
def understanding() -> PromptUnderstanding:
    """One understanding (and one loaded embedding model) for the whole test session."""
    return shared_understanding()


@pytest.fixture(scope="session")
def generator(understanding: PromptUnderstanding) -> StudioGenerator:
    return StudioGenerator(understanding)
