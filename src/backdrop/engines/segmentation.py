"""Foreground segmentation: an image in, an alpha mask (255 = subject) out.

`OnnxSegmenter` is a template-method engine: the public `check()` / `load()` / `predict()` /
`unload()` / `describe()` (the engine lifecycle of engines/engine.py) handle locking and lazy
loading; `_load()`, `_preprocess()` and `_postprocess()` are the model-specific parts. Its
defaults are ISNet's (docs/MODELS.md); another ONNX model with a different input size or
normalisation is a subclass that changes the class data.

The runtime (onnxruntime or OpenVINO, engines/inference.py) is imported where a session is
opened, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from backdrop.engines.choice import RuntimeChoice
from backdrop.engines.engine import Engine, Lazy
from backdrop.engines.inference import (
    DEFAULT_PROVIDER_PREFERENCE,
    InferenceSessionLike,
    describe,
    model_threads,
    open_session,
)
from backdrop.engines.refine import RefineSettings, refine_to_size
from backdrop.errors import WeightsUnavailable
from backdrop.imaging.decode import flatten_alpha
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings

Mask = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]


class Segmenter(Engine, Protocol):
    """An engine that turns an image into a subject mask."""

    @property
    def model_id(self) -> str: ...

    def predict(self, image: Image.Image) -> Mask:
        """uint8 (H, W) alpha at the image's size; 255 = subject."""
        ...


class OnnxSegmenter:
    """An ONNX salient-object model; defaults are ISNet's (input 1024x1024, (v-128)/256)."""

    input_name: ClassVar[str] = "input"
    output_name: ClassVar[str] = "output"
    input_size: ClassVar[tuple[int, int]] = (1024, 1024)  # (width, height); stretched, no padding
    mean: ClassVar[float] = 128.0
    std: ClassVar[float] = 256.0
    resample: ClassVar[Image.Resampling] = Image.Resampling.BILINEAR
    # Scale each image so its brightest channel value is 255 before normalising (as rembg).
    scale_by_max: ClassVar[bool] = False

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        model_id: str = DEFAULT_MODEL,
        inference: InferenceSettings | None = None,
        providers: Sequence[str] | None = None,
        session: InferenceSessionLike | None = None,
        refine: RefineSettings | None = None,
        mirror: bool = False,
    ) -> None:
        if model_path is None and session is None:
            raise ValueError("give a model_path or a session")
        self._model_id = model_id
        self.model_path = model_path
        self.inference = inference or InferenceSettings()
        self.providers = list(providers) if providers is not None else None
        self._session = Lazy(self._load, session)
        # None: the plain recipe (bilinear resize of the prediction); else engines/refine.py.
        self.refine = refine
        # Also run the mirror image and average the two predictions (twice the model time).
        self.mirror = mirror
        # Set where the engine is built (engines/placement.py): which graph and precision
        # this engine runs, and why.
        self.choice: RuntimeChoice | None = None

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def loaded(self) -> bool:
        return self._session.value is not None

    # -- public template -------------------------------------------------------------------

    def check(self) -> None:
        """Raise `WeightsUnavailable` now if the model file is missing; loads nothing."""
        if not self.loaded:
            self._model_file()

    def load(self) -> InferenceSessionLike:
        """Load the model now (otherwise the first `predict` does) and return its session;
        safe from any thread."""
        return self._session.get()

    def unload(self) -> None:
        """Drop the session to free its memory; the next `predict` loads it again."""
        self._session.clear()

    def describe(self) -> str:
        """The model, its graph, its runtime and threads: "isnet-general (int8 graph) on
        OpenVINO, f32, 4 threads"; only "..., not loaded" before `load`."""
        choice = self.choice
        graph = f" ({choice.graph} graph)" if choice and choice.graph != "own" else ""
        session = self._session.value
        if session is None:
            return f"{self.model_id}{graph}, not loaded"
        threads = model_threads(self.inference)
        return f"{self.model_id}{graph} on {describe(session)}, {threads} threads"

    def predict(self, image: Image.Image) -> Mask:
        """uint8 (H, W) alpha at the image's size; 255 = subject."""
        session = self._session.get()
        rgb = flatten_alpha(image)  # once: the model input and the refinement's guide
        batch = self._preprocess(rgb)
        prediction = self._run(session, batch)
        if self.mirror:
            # The resize is symmetric, so the mirrored input is the input tensor mirrored.
            mirrored = self._run(session, np.ascontiguousarray(batch[..., ::-1]))
            prediction = (prediction + mirrored[..., ::-1]) / np.float32(2.0)
        if self.refine is None:
            return self._postprocess(prediction, image.size)
        # The photo's pixels only if the guided filter asks for them: a full-size copy that
        # the other steps, which need only the size, do not read.
        return refine_to_size(
            self._probability(prediction),
            image.size,
            self.refine,
            lambda: np.asarray(rgb, dtype=np.uint8),
        )

    def _run(self, session: InferenceSessionLike, batch: FloatArray) -> FloatArray:
        outputs = session.run([self.output_name], {self.input_name: batch})
        return np.asarray(outputs[0], dtype=np.float32)

    # -- model-specific steps --------------------------------------------------------------

    def _load(self) -> InferenceSessionLike:
        return open_session(
            self._model_file(), self.inference, self.providers or DEFAULT_PROVIDER_PREFERENCE
        )

    def _preprocess(self, image: Image.Image) -> FloatArray:
        """The model's input for `image` at the model's input size (`input_batch`)."""
        return self.input_batch(image, self.input_size)

    @classmethod
    def input_batch(cls, image: Image.Image, size: tuple[int, int]) -> FloatArray:
        """RGB, stretched to `size` (width, height) with `resample`, NCHW float32
        `(v - mean) / std`: this engine's preprocessing at any input size (calibration and
        benches use it at other sizes than the model's)."""
        pixels = np.asarray(flatten_alpha(image).resize(size, cls.resample), dtype=np.uint8)
        top = max(int(pixels.max()), 1) if cls.scale_by_max else 255
        # (v * 255 / top - mean) / std as one multiply-subtract per plane, written straight
        # into the NCHW batch: a third of the time of float copies and a transpose at 1024².
        gain = np.float32(255.0 / (top * cls.std))
        offset = np.float32(cls.mean / cls.std)
        batch = np.empty((1, 3, size[1], size[0]), dtype=np.float32)
        for channel in range(3):
            plane = batch[0, channel]
            np.multiply(pixels[..., channel], gain, out=plane, dtype=np.float32)
            plane -= offset
        return batch

    def _probability(self, prediction: npt.NDArray[Any]) -> FloatArray:
        """Model output -> (h, w) float32 0..1 map (ISNet's output is already a probability)."""
        # Any leading batch/channel axes of size 1 go; what remains is (h, w).
        plane: FloatArray = prediction.reshape(prediction.shape[-2:]).astype(np.float32)
        return plane

    def _postprocess(self, prediction: npt.NDArray[Any], size: tuple[int, int]) -> Mask:
        """Model output (already 0..1) -> uint8 mask resized (bilinear) to `size` (w, h)."""
        plane = self._probability(prediction)
        scaled = np.clip(np.rint(plane * 255.0), 0, 255).astype(np.uint8)
        mask = Image.fromarray(scaled)
        if mask.size != size:
            mask = mask.resize(size, Image.Resampling.BILINEAR)
        return np.asarray(mask, dtype=np.uint8)

    # -- internals -------------------------------------------------------------------------

    def _model_file(self) -> Path:
        if self.model_path is None or not self.model_path.is_file():
            raise WeightsUnavailable(f"model file {self.model_path} for {self.model_id} is missing")
        return self.model_path


class TunedIsnetSegmenter(OnnxSegmenter):
    """ISNet with the preprocessing measured best on the dev sets (bench/RESULTS.md):
    LANCZOS resize and each image scaled by its own maximum, `v / max - 0.5` (as rembg)."""

    mean: ClassVar[float] = 127.5
    std: ClassVar[float] = 255.0
    resample: ClassVar[Image.Resampling] = Image.Resampling.LANCZOS
    scale_by_max: ClassVar[bool] = True


@dataclass(frozen=True)
class RefinedEngine:
    """A catalog engine factory: the tuned ISNet engine with `refine` settings (refine.py),
    averaging each image's prediction with its mirror image's when `mirror` is set."""

    refine: RefineSettings | None
    mirror: bool = False

    def __call__(
        self, model_path: Path, *, model_id: str, inference: InferenceSettings
    ) -> OnnxSegmenter:
        return TunedIsnetSegmenter(
            model_path,
            model_id=model_id,
            inference=inference,
            refine=self.refine,
            mirror=self.mirror,
        )
