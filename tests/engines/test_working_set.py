"""A large order's working set: the refinement and the pipeline give the full-size formulas'
numbers exactly, while their numpy allocations stay a few bytes a pixel (bench/MEMORY.md)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from PIL import Image

from backdrop.common.memory import release_free_memory
from backdrop.engines import pipeline, refine
from backdrop.engines.refine import (
    DEFAULT_REFINE,
    RefineSettings,
    refine_alpha,
    refine_to_size,
    remove_specks,
    to_uint8,
    to_uint8_in_strips,
)
from backdrop.engines.segmentation import TunedIsnetSegmenter

GUIDED_AND_HOLES = RefineSettings(
    guided_radius=4, contrast_low=0.3, contrast_high=0.7, speck_fraction=0.05, hole_fraction=0.1
)


def _prediction(size: int = 96, seed: int = 0) -> np.ndarray:
    """A 0..1 map with a soft blob, a hole in it, a few specks and faint haze."""
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[:size, :size]
    blob = np.clip((0.3 * size - np.hypot(x - size / 2, y - size / 2)) / 6, 0, 1)
    blob[size // 2 - 2 : size // 2 + 2, size // 2 - 2 : size // 2 + 2] = 0.0  # a pinhole
    blob[rng.random((size, size)) < 0.004] = 0.9  # specks
    noisy = blob * 0.9 + 0.05 * rng.random((size, size))
    return noisy.astype(np.float32)


def _plain_refine(
    prediction: np.ndarray, photo: np.ndarray, settings: RefineSettings
) -> np.ndarray:
    """The chain as written before (new arrays at every step, one full-size to_uint8)."""
    import cv2

    height, width = photo.shape[:2]
    alpha = np.asarray(prediction, dtype=np.float32)
    if settings.stretch:
        alpha = refine.stretch(alpha)
    alpha = refine.resize(alpha, (width, height))
    if settings.guided_radius > 0:
        grey = np.asarray(cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY), np.uint8)
        alpha = refine.guided_filter(grey, alpha, settings.guided_radius, settings.guided_eps)
    if settings.contrast_low > 0 or settings.contrast_high < 1:
        low, high = settings.contrast_low, settings.contrast_high
        alpha = np.clip((alpha - np.float32(low)) / np.float32(high - low), 0.0, 1.0)
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32, copy=False)
    if settings.speck_fraction > 0:
        alpha = refine.remove_specks(alpha, settings.speck_fraction)
    if settings.hole_fraction > 0:
        alpha = refine.fill_holes(alpha, settings.hole_fraction)
    result: np.ndarray = np.clip(np.rint(alpha * 255.0), 0, 255).astype(np.uint8)
    return result


@pytest.mark.parametrize("settings", [DEFAULT_REFINE, GUIDED_AND_HOLES, refine.RAW])
@pytest.mark.parametrize(("width", "height"), [(96, 96), (300, 200), (1500, 1000)])
def test_refinement_equals_the_plain_full_size_chain(
    settings: RefineSettings, width: int, height: int
) -> None:
    prediction = _prediction()
    kept = prediction.copy()
    photo = np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)
    expected = _plain_refine(prediction, photo, settings)
    np.testing.assert_array_equal(refine_alpha(prediction, photo, settings), expected)
    np.testing.assert_array_equal(prediction, kept)  # the caller's map is not written to


def test_the_photo_is_read_only_for_the_guided_filter() -> None:
    asked: list[bool] = []

    def photo() -> np.ndarray:
        asked.append(True)
        return np.zeros((50, 60, 3), np.uint8)

    refine_to_size(_prediction(), (60, 50), DEFAULT_REFINE, photo)
    assert not asked
    refine_to_size(_prediction(), (60, 50), GUIDED_AND_HOLES, photo)
    assert asked == [True]


def test_uint8_in_strips_equals_one_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.random.default_rng(2).random((301, 257), dtype=np.float32)
    values[::7] = 0.5 / 255 + np.float32(1e-9)  # near rounding ties
    monkeypatch.setattr(refine, "_STRIP_PIXELS", 257 * 3)
    np.testing.assert_array_equal(to_uint8_in_strips(values), to_uint8(values))


def test_16_bit_labels_equal_32_bit_ones_and_give_way_when_too_many() -> None:
    import cv2

    binary = (np.random.default_rng(3).random((200, 300)) < 0.3).astype(np.uint8)
    count, labels, stats = refine._components(binary, connectivity=8)
    wide = cv2.connectedComponentsWithStats(binary, connectivity=8, ltype=cv2.CV_32S)
    assert labels.dtype == np.uint16
    assert count == wide[0]
    np.testing.assert_array_equal(labels, wide[1])
    np.testing.assert_array_equal(stats, wide[2])
    dots = np.zeros((600, 600), np.uint8)
    dots[::2, ::2] = 1  # 90 000 separate pixels (4-connected): more than 16 bits hold
    count, labels, _ = refine._components(dots, connectivity=4)
    assert count == 90_001
    assert labels.dtype == np.int32


def test_remove_specks_in_place_gives_the_copy_s_result() -> None:
    alpha = refine.resize(refine.stretch(_prediction(seed=4)), (400, 300))
    copied = remove_specks(alpha, 0.05)
    assert not np.array_equal(copied, alpha)  # something was removed
    remove_specks(alpha, 0.05, in_place=True)
    np.testing.assert_array_equal(alpha, copied)


class _BlobSession:
    """A stand-in model: the same soft blob with specks, whatever the input."""

    def __init__(self) -> None:
        self.map = _prediction(1024)[np.newaxis, np.newaxis]

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        return [self.map]

    def get_providers(self) -> list[str]:
        return ["CPUExecutionProvider"]


def _engine() -> TunedIsnetSegmenter:
    return TunedIsnetSegmenter(session=_BlobSession(), refine=DEFAULT_REFINE)


def test_an_images_own_alpha_is_applied_in_strips_as_the_plain_formula() -> None:
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (700, 900, 4), dtype=np.uint8), "RGBA")
    predicted = _engine().predict(image)
    own = np.asarray(image.getchannel("A"), np.uint16)
    expected = ((predicted.astype(np.uint16) * own + 127) // 255).astype(np.uint8)
    np.testing.assert_array_equal(pipeline.subject_alpha(image, _engine()), expected)
    read_only = predicted.copy()
    read_only.flags.writeable = False
    np.testing.assert_array_equal(pipeline._times_own_alpha(read_only, image), expected)


def _peak_traced_bytes(work: Callable[[], object]) -> int:
    """Peak of the Python-traced allocations (numpy buffers included; Pillow's are not)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_orders_numpy_working_set_stays_a_few_bytes_a_pixel() -> None:
    # 20 MP, one colour (the finding's case) with a blob matte so every step runs: specks,
    # edge band, foreground estimate, cutout. Measured: 26.6 bytes a pixel before (float
    # temporaries at each refinement step, a uint8 copy of the photo for its size, 32-bit
    # labels and int64 index copies in the speck removal), 10.9 now (the one full-size
    # float32 alpha, 16-bit labels of the solid and the joined parts, their masks).
    image = Image.new("RGB", (5164, 3873), (200, 30, 40))
    pixels = image.width * image.height
    engine = _engine()
    engine.load()

    def order() -> None:
        pipeline.remove_background(image, engine, pipeline.Transparent())

    assert _peak_traced_bytes(order) < 12 * pixels


def test_freed_memory_is_handed_back_on_glibc() -> None:
    import platform

    released = release_free_memory()
    if platform.libc_ver()[0] == "glibc":
        assert released
