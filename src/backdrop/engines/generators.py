"""The generation engines a worker has: which class an engine id builds, each built once."""

from __future__ import annotations

from backdrop.engines.diffusion import DiffusionGenerator
from backdrop.engines.engine_cache import EngineCache
from backdrop.engines.generation import BackgroundGenerator, check_engine
from backdrop.engines.studio import StudioGenerator
from backdrop.kinds import GenerationEngine
from backdrop.settings import GenerationSettings

# Engines loaded at start when they are the default. Not diffusion: its pipeline (gigabytes,
# on a GPU) has always been loaded by the first order that asks for it.
_LOADED_AT_START = frozenset({GenerationEngine.STUDIO})


def create_generator(engine_id: str, settings: GenerationSettings) -> BackgroundGenerator:
    """A new engine, not loaded yet (torch and diffusers are imported when diffusion loads)."""
    if check_engine(engine_id) == GenerationEngine.DIFFUSION:
        return DiffusionGenerator(settings.diffusion)
    return StudioGenerator()


class Generators:
    """The generation engines a worker uses, one per engine id, each created on first use."""

    def __init__(self, settings: GenerationSettings) -> None:
        self._settings = settings
        self._engines = EngineCache(lambda engine_id: create_generator(engine_id, settings))

    def check_default(self) -> None:
        """Make sure the default engine can run, so a server whose engine lacks its weights
        refuses to start instead of failing its first order."""
        self.get().check()

    def check(self, engine_id: str) -> str:
        """`engine_id` if it names an engine that can run here (the embedded node's check of
        an order's engine); UnknownModel or WeightsUnavailable otherwise. Loads nothing."""
        # The id first: "" must not fall back to the default engine as `get` would.
        self.get(check_engine(engine_id)).check()
        return engine_id

    def warm_up(self) -> None:
        """Prepare the default engine (load models, fill caches) before the first order."""
        engine = self.get()
        if self._settings.engine in _LOADED_AT_START:
            engine.load()

    def get(self, engine_id: str | None = None) -> BackgroundGenerator:
        """The engine for `engine_id` (default: the configured engine), created once."""
        return self._engines.get(check_engine(engine_id or self._settings.engine))


class KnownEngines:
    """An API node's engine check: the id must name an engine. It loads nothing; the workers
    hold the engines (and check theirs when they start)."""

    def check(self, engine_id: str) -> str:
        return check_engine(engine_id)
