"""A segmentation engine split for batching: the steps before and after the model as plain
functions of a picklable `Recipe` (run in other processes), and `BatchModel`, one model call
for many pictures.

`Recipe.of(segmenter)` reads the engine's own preprocessing and postprocessing (ISNet's class
data, a preset's `ModelFormat`, refinement, mirror averaging), so a batched order gets the
same mask as `segmenter.predict` (tests/engines/test_batch_model.py states the tolerance).

`BatchModel` runs the batch graph (engines/batch_graph.py) on onnxruntime: on the CPU, or on
a GPU through TensorRT (fp16, engine cache beside the models) when installed, else CUDA (fp16
graph, pictures copied in once and the prediction out once through I/O binding).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from backdrop.engines.batch_graph import (
    PICTURES,
    PREDICTION,
    SCALE,
    Fp16Unavailable,
    Normalisation,
    cached_batch_graph,
)
from backdrop.engines.gpu import (
    CUDA_PROVIDER,
    TENSORRT_PROVIDER,
    DeviceCount,
    check_cuda,
    check_session,
    count_devices,
)
from backdrop.engines.inference import make_session_options, model_threads
from backdrop.engines.model_presets import PresetSegmenter, to_probability
from backdrop.engines.refine import RefineSettings, refine_to_size
from backdrop.engines.segmentation import FloatArray, Mask, OnnxSegmenter
from backdrop.imaging.decode import flatten_alpha
from backdrop.settings import InferenceSettings

Pixels = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Recipe:
    """What an engine does before and after its model, as data."""

    input_size: tuple[int, int]  # (width, height)
    normalisation: Normalisation
    resample: int
    scale_by_max: bool
    activation: str  # "none", "sigmoid" or "minmax" (model_presets.to_probability)
    refine: RefineSettings | None
    mirror: bool
    input_name: str | None
    output_name: str | None

    @classmethod
    def of(cls, segmenter: OnnxSegmenter) -> Recipe:
        if isinstance(segmenter, PresetSegmenter):
            fmt = segmenter.model_format
            return cls(
                fmt.input_size,
                Normalisation(
                    tuple(1.0 / (255.0 * s) for s in fmt.std),  # type: ignore[arg-type]
                    tuple(m / s for m, s in zip(fmt.mean, fmt.std, strict=True)),  # type: ignore[arg-type]
                ),
                int(Image.Resampling.BILINEAR),
                False,
                fmt.activation,
                None,
                False,
                fmt.input_name,
                fmt.output_name,
            )
        kind = type(segmenter)
        return cls(
            kind.input_size,
            Normalisation((1.0 / kind.std,) * 3, (kind.mean / kind.std,) * 3),
            int(kind.resample),
            kind.scale_by_max,
            "none",
            segmenter.refine,
            segmenter.mirror,
            kind.input_name,
            kind.output_name,
        )

    def model_input(self, image: Image.Image) -> tuple[Pixels, float]:
        """The picture the model reads (RGB uint8 at its input size) and its scale."""
        resized = flatten_alpha(image).resize(self.input_size, Image.Resampling(self.resample))
        pixels = np.asarray(resized, dtype=np.uint8)
        top = max(int(pixels.max()), 1) if self.scale_by_max else 255
        return pixels, 255.0 / top

    def mask(self, prediction: npt.NDArray[Any], image: Image.Image) -> Mask:
        """uint8 (H, W) alpha at `image`'s size from the model's prediction for it, as the
        engine's `predict` makes it after the model call."""
        plane = to_probability(
            np.asarray(prediction, dtype=np.float32).reshape(prediction.shape[-2:]),
            self.activation,  # type: ignore[arg-type]
        )
        if self.refine is None:
            scaled = np.clip(np.rint(plane * 255.0), 0, 255).astype(np.uint8)
            mask = Image.fromarray(scaled)
            if mask.size != image.size:
                mask = mask.resize(image.size, Image.Resampling.BILINEAR)
            return np.asarray(mask, dtype=np.uint8)
        return refine_to_size(
            plane, image.size, self.refine, lambda: np.asarray(flatten_alpha(image), np.uint8)
        )


@dataclass(frozen=True)
class Placement:
    """Where a batch model runs, for the worker's start line and /metrics."""

    device: str  # "cpu" or "cuda"
    provider: str  # the onnxruntime provider that runs it
    precision: str  # "fp32" or "fp16"
    note: str = ""

    def describe(self, batch: int) -> str:
        provider = self.provider.removesuffix("ExecutionProvider")
        note = f" ({self.note})" if self.note else ""
        return (
            f"device {self.device}, provider {provider}, precision {self.precision}{note}, "
            f"batch {batch}"
        )


def wants_cuda(
    inference: InferenceSettings,
    providers: Callable[[], Sequence[str]],
    devices: Callable[[], DeviceCount] = count_devices,
) -> bool:
    """Whether the model goes to a GPU: asked for, or "auto" with a CUDA provider and a GPU
    here (then any later failure to use it is still said, never hidden)."""
    if inference.device == "cuda":
        return True
    return inference.device == "auto" and CUDA_PROVIDER in providers() and devices().count > 0


class BatchModel:
    """One model call for a batch of pictures; safe to call from one thread at a time."""

    def __init__(self, session: Any, placement: Placement, mirror: bool = False) -> None:
        self._session = session
        self.placement = placement
        self._mirror = mirror
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        model_path: Path,
        recipe: Recipe,
        inference: InferenceSettings,
        *,
        cuda: bool,
        runtime: Any = None,
        gpu_providers: Callable[[], list[str]] = check_cuda,
    ) -> BatchModel:
        """The batch graph of `model_path` in an onnxruntime session; CudaUnavailable when
        `cuda` and no usable GPU."""
        # `runtime`: onnxruntime, or a stand-in where tests check the GPU paths without one.
        ort = runtime if runtime is not None else importlib.import_module("onnxruntime")
        options = make_session_options(model_threads(inference))
        if not cuda:
            graph = cached_batch_graph(
                model_path,
                recipe.normalisation,
                input_name=recipe.input_name,
                output_name=recipe.output_name,
            )
            session = ort.InferenceSession(
                str(graph), sess_options=options, providers=["CPUExecutionProvider"]
            )
            return cls(session, Placement("cpu", "CPUExecutionProvider", "fp32"), recipe.mirror)
        providers = gpu_providers()
        cache = model_path.parent / "tensorrt-cache"
        if TENSORRT_PROVIDER in providers:
            # TensorRT picks fp16 kernels itself from the fp32 graph; its engines are built
            # once per shape and kept beside the models (minutes on the first start).
            graph = cached_batch_graph(
                model_path,
                recipe.normalisation,
                input_name=recipe.input_name,
                output_name=recipe.output_name,
            )
            cache.mkdir(parents=True, exist_ok=True)
            chosen: list[Any] = [
                (
                    TENSORRT_PROVIDER,
                    {
                        "trt_fp16_enable": True,
                        "trt_engine_cache_enable": True,
                        "trt_engine_cache_path": str(cache),
                    },
                ),
                CUDA_PROVIDER,
            ]
            precision, note = "fp16", ""
        else:
            try:
                graph = cached_batch_graph(
                    model_path,
                    recipe.normalisation,
                    input_name=recipe.input_name,
                    output_name=recipe.output_name,
                    fp16=True,
                )
                precision, note = "fp16", ""
            except Fp16Unavailable as missing:
                graph = cached_batch_graph(model_path, recipe.normalisation)
                precision, note = "fp32", str(missing)
            chosen = [CUDA_PROVIDER]
        session = ort.InferenceSession(str(graph), sess_options=options, providers=chosen)
        provider = check_session(session)
        return cls(session, Placement("cuda", provider, precision, note), recipe.mirror)

    def predict(self, pictures: Sequence[Pixels], scales: Sequence[float]) -> FloatArray:
        """Predictions [n, h, w] for n pictures, in one model call (two rows per picture when
        the engine averages each with its mirror image)."""
        batch = np.stack(pictures)
        scale = np.asarray(scales, dtype=np.float32).reshape(-1, 1, 1, 1)
        if self._mirror:
            batch = np.concatenate([batch, batch[:, :, ::-1]])
            scale = np.concatenate([scale, scale])
        with self._lock:
            output = self._run(np.ascontiguousarray(batch), scale)
        planes = output.reshape(output.shape[0], *output.shape[-2:]).astype(np.float32)
        if self._mirror:
            count = len(pictures)
            result: FloatArray = (planes[:count] + planes[count:, :, ::-1]) / np.float32(2.0)
            return result
        return planes

    def _run(self, batch: Pixels, scale: FloatArray) -> FloatArray:
        if self.placement.device != "cuda":
            outputs = self._session.run([PREDICTION], {PICTURES: batch, SCALE: scale})
            return np.asarray(outputs[0])
        # I/O binding: the inputs are copied to the GPU once, the output is allocated there
        # and copied back once; no extra host copies inside onnxruntime.
        binding = self._session.io_binding()
        binding.bind_cpu_input(PICTURES, batch)
        binding.bind_cpu_input(SCALE, scale)
        binding.bind_output(PREDICTION, "cuda")
        self._session.run_with_iobinding(binding)
        return np.asarray(binding.copy_outputs_to_cpu()[0])
