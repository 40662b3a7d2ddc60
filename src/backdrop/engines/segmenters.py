"""The segmentation engines a worker uses, one per model id, each created on first use."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.engine_cache import EngineCache
from backdrop.engines.model_install import installed_file
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


class KnownModels:
    """An API node's model check: the id must be in the catalogue its workers share (the
    built-ins and the operator's models.json). It loads nothing; the workers hold the weights."""

    def __init__(self, catalog: Catalog, default_model: str = DEFAULT_MODEL) -> None:
        self._catalog = catalog
        self._default_model = default_model

    def check(self, model_id: str | None = None) -> str:
        """The id if the catalogue has it; UnknownModel listing the known ids otherwise."""
        return resolve_model(model_id or self._default_model, self._catalog).model_id
