"""Background generation: one request type, one result type, one registry of engines.

Engines: `studio` (procedural, CPU, the default) and `diffusion` (diffusers inpainting, an
optional extra for operators with a GPU and weights).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from backdrop.errors import UnknownModel
from backdrop.kinds import GenerationEngine
from backdrop.settings import GenerationSettings


@dataclass(frozen=True)
class GenerationRequest:
    """What every generation engine gets: the photo, the subject's alpha and the wishes."""

    image: Image.Image  # "RGB", the input photo
    alpha: NDArray[np.uint8]  # (height, width), 255 = subject
    prompt: str
    seed: int | None = None
    negative_prompt: str | None = None
    # A reference photo whose palette and light the new background should take (studio).
    style_image: Image.Image | None = None


class BackgroundGenerator(Protocol):
    """An engine that puts the subject on a new background; "RGB" at the input's size."""

    @property
    def engine_id(self) -> str: ...

    def generate(self, request: GenerationRequest) -> Image.Image: ...


def check_engine(engine_id: str) -> str:
    """`engine_id` if it names a generation engine; otherwise a clear error listing them."""
    if engine_id not in set(GenerationEngine):
        known = ", ".join(GenerationEngine)
        raise UnknownModel(f"unknown generation engine {engine_id!r}; known engines: {known}")
    return engine_id


def create_generator(engine_id: str, settings: GenerationSettings) -> BackgroundGenerator:
    """A new engine; heavy libraries are imported only for the engine asked for."""
    check_engine(engine_id)
    if engine_id == GenerationEngine.DIFFUSION:
        from backdrop.engines.diffusion import DiffusionGenerator

        return DiffusionGenerator(settings.diffusion)
    from backdrop.engines.studio import StudioGenerator

    return StudioGenerator()


class Generators:
    """The engines a worker has loaded, each created once on first use."""

    def __init__(self, settings: GenerationSettings) -> None:
        self._settings = settings
        self._engines: dict[str, BackgroundGenerator] = {}
        self._lock = threading.Lock()

    def check_default(self) -> None:
        """Make sure the default engine can run, so a server whose engine lacks its weights
        refuses to start instead of failing its first order."""
        engine = self.get()
        check = getattr(engine, "check", None) or getattr(engine, "load", None)
        if callable(check):
            check()

    def warm_up(self) -> None:
        """Prepare the default engine (load models, fill caches) before the first order."""
        warm = getattr(self.get(), "warm_up", None)
        if callable(warm):
            warm()

    def get(self, engine_id: str | None = None) -> BackgroundGenerator:
        engine_id = check_engine(engine_id or self._settings.engine)
        with self._lock:
            engine = self._engines.get(engine_id)
            if engine is None:
                engine = create_generator(engine_id, self._settings)
                self._engines[engine_id] = engine
            return engine
