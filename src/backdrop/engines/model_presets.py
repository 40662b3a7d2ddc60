"""Engines for ONNX segmentation models that users bring: ISNet, BiRefNet and U²-Net presets.

A preset is the model family's pre- and post-processing as data (input size, mean/std on the
0..1 scale, what the output needs to become a 0..1 alpha). `PresetSegmenter` is the ordinary
`OnnxSegmenter` with those steps taken from its `ModelFormat` instead of the class data, and
with the graph's own input and output names (exports of the same model name them differently).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from backdrop.engines.inference import InferenceSessionLike
from backdrop.engines.segmentation import FloatArray, Mask, OnnxSegmenter
from backdrop.imaging.decode import flatten_alpha
from backdrop.settings import InferenceSettings

Activation = Literal["none", "sigmoid", "minmax"]
ACTIVATIONS: tuple[Activation, ...] = ("none", "sigmoid", "minmax")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelFormat:
    """How an ONNX segmentation graph wants its input and what its output means.

    `mean`/`std` apply to RGB on the 0..1 scale: `(v / 255 - mean) / std`, or `(v / top - mean)
    / std` with `scale_by_max`, where `top` is the image's brightest channel value (as U²-Net's
    own test code and rembg do). `activation` turns
    the chosen output into 0..1: "none" (already a probability), "sigmoid" (logits) or
    "minmax" (rescaled so its minimum is 0 and its maximum 1). Names left None mean the
    graph's first input / first output.
    """

    input_size: tuple[int, int]  # (width, height); the image is stretched to it
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    activation: Activation
    input_name: str | None = None
    output_name: str | None = None
    scale_by_max: bool = False


PRESETS: dict[str, ModelFormat] = {
    # (v - 128) / 256, output already through a sigmoid (docs/MODELS.md).
    "isnet": ModelFormat((1024, 1024), (128 / 255,) * 3, (256 / 255,) * 3, "none"),
    # BiRefNet ONNX exports: ImageNet normalisation at 1024², the first output is logits.
    "birefnet": ModelFormat((1024, 1024), IMAGENET_MEAN, IMAGENET_STD, "sigmoid"),
    # U²-Net (u2net, u2netp, silueta...): the image over its maximum, ImageNet normalisation
    # at 320², d0 min-max scaled (xuebinqin/U-2-Net's u2net_test.py: ToTensorLab, normPRED).
    "u2net": ModelFormat((320, 320), IMAGENET_MEAN, IMAGENET_STD, "minmax", scale_by_max=True),
    # ISNet trained on anime (SkyTNT/anime-segmentation): RGB on 0..1 with no mean or std, and
    # a sigmoid inside the exported graph (its inference.py and export.py). rembg subtracts
    # the ImageNet mean; the authors' own code does not.
    "isnet-anime": ModelFormat((1024, 1024), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), "none"),
}


class _NamedSession:
    """A session that answers to OnnxSegmenter's names ("input"/"output") with the graph's own."""

    def __init__(self, session: Any, model_format: ModelFormat) -> None:
        self._session = session
        self._input = model_format.input_name or session.get_inputs()[0].name
        self._output = model_format.output_name or session.get_outputs()[0].name

    def run(self, output_names: list[str] | None, input_feed: dict[str, Any]) -> list[Any]:
        (batch,) = input_feed.values()
        outputs: list[Any] = self._session.run([self._output], {self._input: batch})
        return outputs


class PresetSegmenter(OnnxSegmenter):
    """An `OnnxSegmenter` whose pre- and post-processing come from a `ModelFormat`."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        model_format: ModelFormat,
        model_id: str,
        inference: InferenceSettings | None = None,
        providers: Sequence[str] | None = None,
        session: InferenceSessionLike | None = None,
    ) -> None:
        self.model_format = model_format
        named = _NamedSession(session, model_format) if session is not None else None
        super().__init__(
            model_path, model_id=model_id, inference=inference, providers=providers, session=named
        )

    def _load(self) -> InferenceSessionLike:
        return _NamedSession(super()._load(), self.model_format)

    def _preprocess(self, image: Image.Image) -> FloatArray:
        return preset_batch(image, self.model_format)

    def _postprocess(self, prediction: npt.NDArray[Any], size: tuple[int, int]) -> Mask:
        """The output made 0..1 by the format's activation, then resized like any engine's."""
        return super()._postprocess(to_probability(prediction, self.model_format.activation), size)


def preset_batch(image: Image.Image, fmt: ModelFormat) -> FloatArray:
    """RGB stretched to the input size (bilinear), NCHW float32 `(v/255 - mean) / std`
    (`v/top` in place of `v/255` with the format's `scale_by_max`): the engine's input, and
    what an int8 derivation calibrates on (engines/derive_preset.py)."""
    rgb = flatten_alpha(image).resize(fmt.input_size, Image.Resampling.BILINEAR)
    pixels = np.asarray(rgb, dtype=np.float32)
    top = max(float(pixels.max()), 1.0) if fmt.scale_by_max else 255.0
    pixels /= np.float32(top)
    mean = np.asarray(fmt.mean, dtype=np.float32)
    std = np.asarray(fmt.std, dtype=np.float32)
    normalised = (pixels - mean) / std
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)


def to_probability(prediction: npt.NDArray[Any], activation: Activation) -> FloatArray:
    """A model output as 0..1 floats according to `activation`."""
    values = np.asarray(prediction, dtype=np.float32)
    if activation == "sigmoid":
        # Written with exp of a non-positive number only, so large logits cannot overflow.
        positive = values >= 0
        exp = np.exp(-np.abs(values))
        result: FloatArray = np.where(positive, 1.0 / (1.0 + exp), exp / (1.0 + exp)).astype(
            np.float32
        )
        return result
    if activation == "minmax":
        low, high = float(values.min()), float(values.max())
        if high - low < 1e-12:
            return np.zeros_like(values)
        return ((values - low) / (high - low)).astype(np.float32)
    return values


@dataclass(frozen=True)
class PresetEngine:
    """A `SegmenterFactory` for one `ModelFormat`."""

    model_format: ModelFormat

    def __call__(
        self, model_path: Path, *, model_id: str, inference: InferenceSettings
    ) -> PresetSegmenter:
        return PresetSegmenter(
            model_path, model_format=self.model_format, model_id=model_id, inference=inference
        )
