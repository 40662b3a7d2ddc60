"""The ONNX segmentation engine: with a fake session, then with the real installed ISNet."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from backdrop.engines.derive import model_for_quality
from backdrop.engines.inference import InferenceSessionLike, OpenVinoSession, model_threads
from backdrop.engines.placement import create_segmenter
from backdrop.engines.refine import DEFAULT_REFINE
from backdrop.engines.segmentation import (
    OnnxSegmenter,
    RefinedEngine,
    Segmenter,
    TunedIsnetSegmenter,
)
from backdrop.errors import WeightsUnavailable
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings, Settings


class FakeSession:
    """Records what it is asked and answers with a fixed 0..1 map."""

    def __init__(self, output: npt.NDArray[np.float32]) -> None:
        self.output = output
        self.calls: list[tuple[list[str] | None, dict[str, Any]]] = []

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        self.calls.append((output_names, input_feed))
        # A real ISNet session also returns side outputs when asked for all of them.
        return [self.output] if output_names == ["output"] else [self.output, self.output]


def left_half_map() -> npt.NDArray[np.float32]:
    plane = np.zeros((1, 1, 1024, 1024), np.float32)
    plane[..., :512] = 1.0
    return plane


def test_preprocessing_is_isnet_normalisation_in_nchw() -> None:
    session = FakeSession(left_half_map())
    engine = OnnxSegmenter(session=session)

    engine.predict(Image.new("RGB", (300, 200), (0, 128, 255)))

    [(outputs, feed)] = session.calls
    assert outputs == ["output"]
    assert list(feed) == ["input"]
    batch = feed["input"]
    assert batch.shape == (1, 3, 1024, 1024)
    assert batch.dtype == np.float32
    assert batch.flags["C_CONTIGUOUS"]
    # (v - 128) / 256 per channel, channels in RGB order.
    np.testing.assert_allclose(batch[0, :, 500, 500], [-0.5, 0.0, 127 / 256])


def test_preprocessing_stretches_without_padding() -> None:
    # Red left half, blue right half of a wide image: stretched to a square, the colour
    # boundary stays at the middle column and no padding rows appear at top or bottom.
    image = Image.new("RGB", (400, 100), (255, 0, 0))
    image.paste((0, 0, 255), (200, 0, 400, 100))
    session = FakeSession(left_half_map())

    OnnxSegmenter(session=session).predict(image)

    red = session.calls[0][1]["input"][0, 0]
    assert np.allclose(red[:, :500], 127 / 256)
    assert np.allclose(red[:, 524:], -0.5)
    assert np.allclose(red[0], red[-1])


def test_transparency_is_flattened_over_white() -> None:
    image = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    session = FakeSession(left_half_map())

    OnnxSegmenter(session=session).predict(image)

    np.testing.assert_allclose(session.calls[0][1]["input"], 127 / 256)


def test_output_is_scaled_and_resized_to_the_image() -> None:
    session = FakeSession(left_half_map())

    mask = OnnxSegmenter(session=session).predict(Image.new("L", (300, 200)))

    assert mask.shape == (200, 300)
    assert mask.dtype == np.uint8
    assert (mask[:, :145] == 255).all()
    assert (mask[:, 155:] == 0).all()


def test_output_values_in_between_are_kept() -> None:
    session = FakeSession(np.full((1, 1, 1024, 1024), 0.5, np.float32))
    mask = OnnxSegmenter(session=session).predict(Image.new("RGB", (10, 10)))
    assert (mask == 128).all()


class CountingSegmenter(OnnxSegmenter):
    """Loads a fake session, slowly, counting loads."""

    def __init__(self) -> None:
        super().__init__(Path("unused.onnx"))
        self.loads = 0

    def _load(self) -> InferenceSessionLike:
        self.loads += 1
        time.sleep(0.05)  # widen the window in which a second thread could also load
        return FakeSession(left_half_map())


def test_loading_is_lazy_and_happens_once_across_threads() -> None:
    engine = CountingSegmenter()
    assert not engine.loaded
    image = Image.new("RGB", (32, 32))

    threads = [threading.Thread(target=engine.predict, args=(image,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert engine.loads == 1
    engine.unload()
    assert not engine.loaded
    engine.predict(image)
    assert engine.loads == 2
    engine.load()  # already loaded: a no-op
    assert engine.loads == 2


def test_check_and_describe_load_nothing(tmp_path: Path) -> None:
    engine = OnnxSegmenter(
        tmp_path / "gone.onnx", model_id="m", inference=InferenceSettings(threads=2)
    )
    with pytest.raises(WeightsUnavailable, match=r"gone\.onnx for m is missing"):
        engine.check()
    assert engine.describe() == "m, not loaded"
    fake = OnnxSegmenter(session=FakeSession(left_half_map()), model_id="m")
    fake.check()  # loaded: nothing to look for
    assert fake.describe() == f"m on FakeSession, {model_threads(fake.inference)} threads"


def test_needs_a_path_or_a_session() -> None:
    with pytest.raises(ValueError, match="model_path or a session"):
        OnnxSegmenter()


def test_missing_model_file_is_weights_unavailable(tmp_path: Path) -> None:
    engine = OnnxSegmenter(tmp_path / "absent.onnx")
    with pytest.raises(WeightsUnavailable, match=r"absent\.onnx"):
        engine.load()


# -- the real model --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isnet() -> Iterator[Segmenter]:
    """The installed default model; missing weights are a failure, not a skip."""
    models_dir = Settings().models_dir
    try:
        engine = create_segmenter(DEFAULT_MODEL, models_dir=models_dir)
    except WeightsUnavailable as exc:
        pytest.fail(
            f"the ISNet weights are not installed in {models_dir}: run `backdrop models fetch` "
            f"(or `make model`) before the tests ({exc.detail})"
        )
    assert isinstance(engine, OnnxSegmenter)
    engine.load()
    yield engine
    engine.unload()


def sphere_scene(
    size: tuple[int, int],
    centre: tuple[float, float],
    radius: float,
    colour: tuple[int, int, int],
) -> tuple[Image.Image, npt.NDArray[np.bool_]]:
    """A lit, shaded sphere with a soft contact shadow on a vertical grey-blue gradient.

    One solid, 3-D-looking object: ISNet segments it to IoU > 0.99 across colours, sizes and
    positions (two touching spheres, by contrast, make it pick only one of them).
    """
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (yy / height)[..., None]
    top, bottom = np.array([225, 232, 240], np.float32), np.array([190, 200, 215], np.float32)
    background = top * (1 - t) + bottom * t
    # Soft shadow under the sphere, on the background only.
    cx, cy = centre
    shadow = np.exp(
        -1.5 * (((xx - cx) / (radius * 0.9)) ** 2 + ((yy - cy - radius) / (radius * 0.18)) ** 2)
    )
    background *= 1 - 0.35 * shadow[..., None]

    dx, dy = (xx - cx) / radius, (yy - cy) / radius
    inside = dx * dx + dy * dy <= 1.0
    dz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0, 1))
    light = np.array([-0.5, -0.6, 0.62]) / np.linalg.norm([-0.5, -0.6, 0.62])
    lambert = np.clip(dx * light[0] + dy * light[1] + dz * light[2], 0, 1)[..., None]
    surface = np.array(colour, np.float32) * (0.25 + 0.75 * lambert)
    highlight = np.clip((lambert - 0.9) / 0.1, 0, 1) ** 2
    surface = surface * (1 - highlight) + 255 * highlight

    pixels = np.where(inside[..., None], surface, background)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), inside


def iou(alpha: npt.NDArray[np.uint8], truth: npt.NDArray[np.bool_]) -> float:
    predicted = alpha >= 128
    return float((predicted & truth).sum() / (predicted | truth).sum())


@pytest.mark.parametrize(
    ("size", "centre", "radius", "colour"),
    [
        ((640, 480), (320, 220), 140, (210, 40, 30)),
        ((640, 480), (230, 200), 100, (40, 160, 60)),
        ((480, 640), (240, 360), 160, (30, 90, 200)),
    ],
    ids=["red-centre", "green-off-centre", "blue-portrait"],
)
def test_real_model_segments_a_sphere(
    isnet: Segmenter,
    size: tuple[int, int],
    centre: tuple[float, float],
    radius: float,
    colour: tuple[int, int, int],
) -> None:
    image, truth = sphere_scene(size, centre, radius, colour)

    alpha = isnet.predict(image)

    assert alpha.shape == truth.shape
    assert alpha.dtype == np.uint8
    assert iou(alpha, truth) > 0.9
    # Confident on both sides, not a washed-out map that happens to threshold well.
    assert alpha[truth].mean() > 200
    assert alpha[~truth].mean() < 20


def test_real_model_output_has_the_image_size(isnet: Segmenter) -> None:
    image, _ = sphere_scene((1000, 300), (700, 150), 110, (200, 120, 30))
    assert isnet.predict(image).shape == (300, 1000)
    assert isnet.predict(image.convert("RGBA").crop((0, 0, 333, 217))).shape == (217, 333)


def test_default_runtime_here_is_openvino_and_agrees_with_onnxruntime(isnet: Segmenter) -> None:
    # This machine's CPU: `auto` runs OpenVINO (bf16 where the CPU has it). Its masks must be
    # those of onnxruntime's fp32 kernels on the same file, within rounding.
    assert isinstance(isnet, OnnxSegmenter) and isinstance(isnet.load(), OpenVinoSession)
    exact = create_segmenter(
        DEFAULT_MODEL,
        models_dir=Settings().models_dir,
        inference=InferenceSettings(runtime="onnxruntime"),
    )
    image, truth = sphere_scene((640, 480), (300, 250), 150, (40, 120, 200))
    fast, reference = isnet.predict(image), exact.predict(image)
    assert iou(reference, truth) > 0.98
    assert float(np.abs(fast.astype(np.int16) - reference).mean()) < 1.0
    assert ((fast >= 128) != (reference >= 128)).mean() < 0.002


def test_mirror_averaging_runs_the_mirror_image_and_averages() -> None:
    # `--quality best`: a prediction that is 1 on the left half only, for any input, becomes
    # 0.5 everywhere once averaged with the mirror image's (whose left half is the right).
    session = FakeSession(left_half_map())
    engine = TunedIsnetSegmenter(session=session, mirror=True)
    image = Image.fromarray(np.tile(np.arange(256, dtype=np.uint8), (64, 1)))
    alpha = engine.predict(image.convert("RGB"))
    assert len(session.calls) == 2
    first, second = (call[1]["input"] for call in session.calls)
    np.testing.assert_array_equal(second, first[..., ::-1])
    assert np.all(np.abs(alpha.astype(int) - 128) <= 1)


def test_best_quality_segments_like_the_default(isnet: Segmenter) -> None:
    best = create_segmenter(
        model_for_quality("isnet-general", "best"), models_dir=Settings().models_dir
    )
    image, truth = sphere_scene((800, 500), (420, 260), 170, (230, 190, 40))
    alpha = best.predict(image)
    assert alpha.shape == (500, 800)
    assert iou(alpha, truth) > 0.98
    assert ((alpha >= 128) != (isnet.predict(image) >= 128)).mean() < 0.01


def test_two_scale_model_segments_like_the_default(isnet: Segmenter) -> None:
    # The same weights at 1024² and 1152², averaged in one graph.
    best = create_segmenter("isnet-general-multiscale", models_dir=Settings().models_dir)
    image, truth = sphere_scene((800, 500), (420, 260), 170, (230, 190, 40))
    alpha = best.predict(image)
    assert alpha.shape == (500, 800)
    assert iou(alpha, truth) > 0.98
    assert ((alpha >= 128) != (isnet.predict(image) >= 128)).mean() < 0.01


def test_tuned_isnet_scales_by_the_image_maximum() -> None:
    # A dim image (max 100) is normalised as v / max - 0.5, so its brightest pixel reads 0.5.
    session = FakeSession(left_half_map())
    TunedIsnetSegmenter(session=session).predict(Image.new("RGB", (300, 200), (100, 50, 0)))
    batch = session.calls[0][1]["input"]
    np.testing.assert_allclose(batch[0, :, 500, 500], [0.5, 0.0, -0.5], atol=1e-6)


def test_refined_engine_returns_the_refined_alpha() -> None:
    # A faint subject (max 0.3) that the plain recipe never lifts to 0.5, plus a far speck:
    # refinement stretches the subject to opaque and drops the speck.
    plane = np.zeros((1, 1, 1024, 1024), np.float32)
    plane[..., 200:800, 100:500] = 0.3
    plane[..., 950:960, 950:960] = 0.3
    image = Image.new("RGB", (256, 256), (90, 90, 90))
    plain = OnnxSegmenter(session=FakeSession(plane)).predict(image)
    refined = TunedIsnetSegmenter(session=FakeSession(plane), refine=DEFAULT_REFINE).predict(image)
    assert plain.max() < 128
    assert refined.dtype == np.uint8 and refined.shape == (256, 256)
    assert refined[128, 64] == 255
    assert refined[240:, 240:].max() == 0


def test_the_built_in_engine_for_isnet_is_tuned_and_refined(tmp_path: Path) -> None:
    engine = RefinedEngine(DEFAULT_REFINE)(
        tmp_path / "m.onnx", model_id="isnet-general", inference=InferenceSettings(threads=1)
    )
    assert isinstance(engine, TunedIsnetSegmenter)
    assert engine.refine == DEFAULT_REFINE
