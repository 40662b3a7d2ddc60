"""Where a segmentation model runs here: which of its graphs, on which runtime, in which
precision (engines/choice.py decides for this CPU), and the engine built over that file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.choice import RuntimeChoice, choose
from backdrop.engines.cpu import CpuFeatures, read_cpu
from backdrop.engines.inference import DEFAULT_PROVIDER_PREFERENCE, choose_providers
from backdrop.engines.model_install import installed_file, is_installed
from backdrop.engines.model_spec import Catalog, SegmentationModel
from backdrop.engines.segmentation import OnnxSegmenter, Segmenter
from backdrop.settings import InferenceSettings


def choose_graph(
    model: SegmentationModel,
    models_dir: Path,
    inference: InferenceSettings,
    catalog: Catalog | None = None,
    cpu: CpuFeatures | None = None,
) -> tuple[Path, RuntimeChoice]:
    """The file `model` runs here and the runtime choice for it (engines/choice.py).

    The int8 graph replaces the model's own where the choice says int8 and it is installed;
    a model without one, or with one not installed, runs its own file in f32.
    """
    choice = choose(
        cpu or read_cpu(),
        inference.runtime,
        inference.precision,
        choose_providers(DEFAULT_PROVIDER_PREFERENCE),
    )
    path = installed_file(model, models_dir)
    if choice.graph != "int8":
        return path, choice
    if model.int8_graph is None:
        return path, replace(
            choice, graph="own", reason=f"{choice.reason}; {model.model_id} has one graph"
        )
    variant = resolve_model(model.int8_graph, catalog)
    if not is_installed(variant, models_dir):
        return path, replace(
            choice,
            graph="fp32",
            reason=f"{choice.reason}, but {variant.model_id} is not installed "
            f"(`backdrop models fetch --model {variant.model_id}`): the fp32 graph",
        )
    return installed_file(variant, models_dir), choice


def create_segmenter(
    model_id: str,
    *,
    models_dir: Path,
    inference: InferenceSettings | None = None,
    catalog: Catalog | None = None,
    cpu: CpuFeatures | None = None,
) -> Segmenter:
    """Build the engine for an installed model; never downloads (loading stays lazy)."""
    model = resolve_model(model_id, catalog)
    settings = inference or InferenceSettings()
    path, choice = choose_graph(model, models_dir, settings, catalog, cpu)
    # The session computes in the chosen precision; "auto" is never left to the runtime.
    chosen = settings.model_copy(update={"precision": choice.precision})
    engine = model.engine(path, model_id=model_id, inference=chosen)
    if isinstance(engine, OnnxSegmenter):
        engine.choice = choice
    return engine
