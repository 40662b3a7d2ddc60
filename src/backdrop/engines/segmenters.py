"""The segmentation engines a worker uses, one per model id, each created on first use."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.derive import QUALITY_VARIANTS, model_for_quality
from backdrop.engines.engine_cache import EngineCache
from backdrop.engines.model_install import installed_file, is_installed
from backdrop.engines.model_spec import Catalog
from backdrop.engines.placement import create_segmenter
from backdrop.engines.segmentation import Segmenter
from backdrop.kinds import DEFAULT_MODEL
from backdrop.settings import InferenceSettings


class Segmenters:
    """The segmentation engines a worker uses, one per model id, each created on first use."""

    def __init__(
        self,
        catalog: Catalog,
        models_dir: Path,
        *,
        default_model: str = DEFAULT_MODEL,
        inference: InferenceSettings | None = None,
        preloaded: Segmenter | None = None,
    ) -> None:
        self._catalog = catalog
        self._models_dir = models_dir
        settings = inference or InferenceSettings()
        self.default_model = resolve_model(default_model, catalog).model_id
        self._engines: EngineCache[Segmenter] = EngineCache(
            lambda model_id: create_segmenter(
                model_id, models_dir=models_dir, inference=settings, catalog=catalog
            )
        )
        if preloaded is not None:
            self._engines.add(preloaded.model_id, preloaded)

    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def check(self, model_id: str | None = None) -> str:
        """The id if that model can run here: UnknownModel or WeightsUnavailable otherwise."""
        model_id = model_id or self.default_model
        if model_id in self._engines:
            return model_id
        installed_file(resolve_model(model_id, self._catalog), self._models_dir)
        return model_id

    def get(self, model_id: str | None = None) -> Segmenter:
        """The engine for `model_id` (default: the configured model), created once."""
        return self._engines.get(model_id or self.default_model)

    def installed(self) -> list[str]:
        """The catalogue's ids whose weights are on this machine (or already loaded)."""
        return [
            model_id
            for model_id, model in self._catalog.items()
            if model_id in self._engines or is_installed(model, self._models_dir)
        ]

    def qualities(self) -> dict[str, str]:
        """Quality -> the installed model that answers it for the default model."""
        return _qualities(self.default_model, self.installed())


class KnownModels:
    """An API node's model check: the id must be in the catalogue its workers share (the
    built-ins and the operator's models.json). It loads nothing; the workers hold the weights."""

    def __init__(self, catalog: Catalog, default_model: str = DEFAULT_MODEL) -> None:
        self._catalog = catalog
        self._default_model = default_model

    @property
    def default_model(self) -> str:
        return resolve_model(self._default_model, self._catalog).model_id

    def check(self, model_id: str | None = None) -> str:
        """The id if the catalogue has it; UnknownModel listing the known ids otherwise."""
        return resolve_model(model_id or self._default_model, self._catalog).model_id

    def installed(self) -> list[str]:
        """Every id in the catalogue: what this node's check accepts (workers hold weights)."""
        return list(self._catalog)

    def qualities(self) -> dict[str, str]:
        """Quality -> the model that answers it for the default model."""
        return _qualities(self.default_model, self.installed())


def _qualities(default_model: str, installed: list[str]) -> dict[str, str]:
    """Each quality whose model (as `model_for_quality` picks it) is in `installed`."""
    chosen = {quality: model_for_quality(default_model, quality) for quality in QUALITY_VARIANTS}
    return {quality: model_id for quality, model_id in chosen.items() if model_id in installed}
