"""What a segmentation model is: its id, its weights and the engine that runs them.

A catalog maps ids to these: the built-in ones (engines/builtin_models.py) plus those the
operator declares (engines/models_file.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from backdrop.engines.derive import DerivedWeights
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.weights import NpmSource, WeightsSpec
from backdrop.settings import InferenceSettings


class SegmenterFactory(Protocol):
    """Builds an engine over an installed weights file (an engine class fits)."""

    def __call__(
        self, model_path: Path, *, model_id: str, inference: InferenceSettings
    ) -> Segmenter: ...


@dataclass(frozen=True)
class LocalWeights:
    """An ONNX file the operator already has; used in place, never copied or downloaded."""

    path: Path
    sha256: str | None = None


@dataclass(frozen=True)
class SegmentationModel:
    """A segmentation model: its id, its weights and the engine that runs them."""

    model_id: str
    weights: WeightsSpec | LocalWeights | DerivedWeights
    engine: SegmenterFactory
    description: str
    license: str
    builtin: bool = True
    # The model id whose file is this model's int8 graph, run in its place where the CPU
    # choice says int8 (engines/choice.py); None: this model has one graph.
    int8_graph: str | None = None

    @property
    def source(self) -> str:
        """Where the weights come from, in words."""
        weights = self.weights
        if isinstance(weights, LocalWeights):
            return str(weights.path)
        source = weights.source
        if isinstance(source, NpmSource):
            return f"npm {source.package}@{source.version} {source.resource}"
        return source.url


Catalog = Mapping[str, SegmentationModel]
