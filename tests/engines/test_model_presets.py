"""User-model engines: the presets' pre/post-processing, run for real on a tiny ONNX graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backdrop.engines.model_presets import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PRESETS,
    ModelFormat,
    PresetSegmenter,
    to_probability,
)
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.settings import InferenceSettings
from tests.engines.tiny_onnx import white_square_on_black, write_tiny_model


@pytest.mark.parametrize("preset", ["birefnet", "u2net"])
def test_preset_engine_runs_a_real_onnx_graph(tmp_path: Path, preset: str) -> None:
    fmt = PRESETS[preset]
    model = write_tiny_model(tmp_path / "tiny.onnx", fmt.input_size[0])
    engine = PresetSegmenter(
        model, model_format=fmt, model_id=f"tiny-{preset}", inference=InferenceSettings(threads=1)
    )
    image, truth = white_square_on_black()

    mask = engine.predict(image)

    assert engine.loaded
    assert mask.shape == truth.shape and mask.dtype == np.uint8
    # Away from the edges (bilinear resizing softens them) the mask is the square.
    inner = np.zeros_like(truth, dtype=bool)
    inner[20:44, 28:68] = True
    assert mask[inner].min() >= 250
    assert mask[:8].max() <= 5 and mask[:, :12].max() <= 5


def test_preprocess_normalises_per_channel(tmp_path: Path) -> None:
    fmt = ModelFormat((4, 2), IMAGENET_MEAN, IMAGENET_STD, "none")
    engine = PresetSegmenter(tmp_path / "unused.onnx", model_format=fmt, model_id="m")
    image, _ = white_square_on_black(8, 4)
    batch = engine._preprocess(image.point(lambda _: 255))
    assert batch.shape == (1, 3, 2, 4) and batch.dtype == np.float32
    expected = [(1 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    assert np.allclose(batch[0, :, 0, 0], expected, atol=1e-5)


def test_isnet_preset_matches_the_builtin_normalisation(tmp_path: Path) -> None:
    engine = PresetSegmenter(tmp_path / "x.onnx", model_format=PRESETS["isnet"], model_id="m")
    image, _ = white_square_on_black(32, 32)
    builtin = OnnxSegmenter(tmp_path / "x.onnx")
    assert np.allclose(engine._preprocess(image), builtin._preprocess(image), atol=1e-6)


def test_activations() -> None:
    logits = np.array([[-1000.0, 0.0, 1000.0]], dtype=np.float32)
    assert to_probability(logits, "sigmoid").tolist() == [[0.0, 0.5, 1.0]]
    assert to_probability(np.array([2.0, 3.0, 4.0]), "minmax").tolist() == [0.0, 0.5, 1.0]
    assert to_probability(np.full(3, 7.0), "minmax").tolist() == [0.0, 0.0, 0.0]
    assert to_probability(np.array([0.25]), "none").tolist() == [0.25]
