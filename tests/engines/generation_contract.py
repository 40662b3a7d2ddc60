"""Checks every background generator passes, whatever paints the background.

A test class inherits `GenerationContract` and supplies a `generator` fixture (in the manner of
diffusers' `PipelineTesterMixin`); the mixin's name does not start with `Test`, so pytest runs its
checks only through the classes that inherit it.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from backdrop.engines.generation import BackgroundGenerator, Framing, GenerationRequest
from backdrop.kinds import GenerationEngine

Size = tuple[int, int]


def subject_request(
    size: Size,
    *,
    prompt: str = "a studio backdrop",
    seed: int | None = 7,
    framing: Framing = "keep",
) -> GenerationRequest:
    """A noisy photo (so "unchanged" is a strong check) with a box-shaped subject.

    The matte has a soft edge row above the box, as a real matte has.
    """
    width, height = size
    rng = np.random.default_rng(width * 1000 + height)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    alpha = np.zeros((height, width), dtype=np.uint8)
    top, bottom, left, right = height // 4, 3 * height // 4, width // 4, 3 * width // 4
    alpha[top:bottom, left:right] = 255
    alpha[top - 1, left:right] = 128
    return GenerationRequest(image=image, alpha=alpha, prompt=prompt, seed=seed, framing=framing)


MAGENTA = (255, 0, 255)


def small_subject_request(size: Size) -> GenerationRequest:
    """A small subject (a fifth of the frame, top left) on a flat magenta old background.

    The subject is a smooth blue-green gradient, so its resampled pixels can be compared and
    found again wherever an engine places it; magenta shows any old background that comes along.
    """
    width, height = size
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[...] = MAGENTA
    alpha = np.zeros((height, width), dtype=np.uint8)
    left, top, right, bottom = width // 10, height // 10, 3 * width // 10, 3 * height // 10
    ys, xs = np.mgrid[top:bottom, left:right]
    image[top:bottom, left:right, 0] = 10
    image[top:bottom, left:right, 1] = 60 + 140 * (xs - left) // max(right - left - 1, 1)
    image[top:bottom, left:right, 2] = 170 + 60 * (ys - top) // max(bottom - top - 1, 1)
    alpha[top:bottom, left:right] = 255
    return GenerationRequest(
        image=Image.fromarray(image), alpha=alpha, prompt="a plain grey studio backdrop", seed=3
    )


def pixels(image: Image.Image) -> npt.NDArray[np.uint8]:
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


class GenerationContract:
    """Generic generation-engine checks; subclasses provide the `generator` fixture."""

    # (width, height): square, wide, and one that is no multiple of 8.
    sizes: ClassVar[tuple[Size, ...]] = ((64, 64), (96, 64), (70, 50))
    # Mean change allowed inside the subject (alpha 255), in grey levels: 0 = pasted back
    # exactly; an engine that harmonises the subject toward the scene light sets its bound.
    subject_tolerance: ClassVar[float] = 0.0
    # Whether the engine honours `framing="place"` (moves and scales the subject).
    places_subject: ClassVar[bool] = False

    @pytest.fixture
    def generator(self) -> BackgroundGenerator:
        raise NotImplementedError("a contract test class supplies a `generator` fixture")

    def test_engine_id_is_registered(self, generator: BackgroundGenerator) -> None:
        assert generator.engine_id in set(GenerationEngine)

    def test_output_is_rgb_at_the_input_size(self, generator: BackgroundGenerator) -> None:
        for size in self.sizes:
            result = generator.generate(subject_request(size))
            assert result.mode == "RGB"
            assert result.size == size

    def test_subject_pixels_are_untouched(self, generator: BackgroundGenerator) -> None:
        for size in self.sizes:
            request = subject_request(size)
            result = pixels(generator.generate(request))
            subject = request.alpha == 255
            assert subject.any()
            original = pixels(request.image)[subject]
            if self.subject_tolerance == 0:
                np.testing.assert_array_equal(result[subject], original)
            else:
                change = np.abs(result[subject].astype(int) - original.astype(int)).mean()
                assert change <= self.subject_tolerance

    def test_a_placed_subject_is_its_pixels_resampled(self, generator: BackgroundGenerator) -> None:
        """Under "place" the subject may move and grow, but it is still its own pixels,
        resampled, with no old background around it; an engine that keeps the framing keeps
        the subject's pixels where they were."""
        request = small_subject_request((120, 100))
        result = pixels(generator.generate(request)).astype(int)
        source = pixels(request.image)
        assert result.shape == source.shape
        if not self.places_subject:
            subject = request.alpha == 255
            change = np.abs(result[subject] - source[subject].astype(int)).mean()
            assert change <= max(self.subject_tolerance, 0.0)
            return
        # The subject is where the blue-green gradient is; nowhere else is it that blue.
        found = (result[..., 2] - result[..., 0] > 120) & (result[..., 1] > 40)
        rows, cols = np.flatnonzero(found.any(axis=1)), np.flatnonzero(found.any(axis=0))
        top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        original = source[10:30, 12:36]
        assert (bottom - top) * (right - left) > original.shape[0] * original.shape[1]
        expected = np.asarray(
            Image.fromarray(original).resize((right - left, bottom - top), Image.Resampling.BOX)
        ).astype(int)
        inner = (slice(2, -2), slice(2, -2))  # the edge pixels are blended with the scene
        change = np.abs(result[top:bottom, left:right][inner] - expected[inner]).mean()
        assert change <= max(self.subject_tolerance, 3.0)
        # No old background anywhere: nothing close to magenta.
        distance = np.abs(result - np.array(MAGENTA)).sum(axis=-1)
        assert distance.min() > 150

    def test_background_is_replaced(self, generator: BackgroundGenerator) -> None:
        request = subject_request(self.sizes[0])
        result = pixels(generator.generate(request))
        background = request.alpha == 0
        changed = np.any(result[background] != pixels(request.image)[background], axis=-1)
        assert changed.mean() > 0.9

    def test_same_seed_gives_identical_bytes(self, generator: BackgroundGenerator) -> None:
        for size in self.sizes:
            first = generator.generate(subject_request(size, seed=42))
            second = generator.generate(subject_request(size, seed=42))
            assert first.tobytes() == second.tobytes()

    def test_other_seed_gives_another_background(self, generator: BackgroundGenerator) -> None:
        first = generator.generate(subject_request(self.sizes[0], seed=1))
        second = generator.generate(subject_request(self.sizes[0], seed=2))
        assert first.tobytes() != second.tobytes()

    def test_without_a_seed_the_result_is_still_deterministic(
        self, generator: BackgroundGenerator
    ) -> None:
        first = generator.generate(subject_request(self.sizes[0], seed=None))
        second = generator.generate(subject_request(self.sizes[0], seed=None))
        assert first.tobytes() == second.tobytes()

    def test_a_matte_of_the_wrong_shape_is_refused(self, generator: BackgroundGenerator) -> None:
        request = subject_request(self.sizes[0])
        wrong = GenerationRequest(
            image=request.image, alpha=request.alpha[1:], prompt=request.prompt, seed=1
        )
        with pytest.raises(ValueError, match="matte"):
            generator.generate(wrong)
