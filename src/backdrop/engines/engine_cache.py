"""The engines a worker has built, one per id, each built once on first use from any thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from backdrop.engines.engine import Engine

E = TypeVar("E", bound=Engine)


class EngineCache(Generic[E]):
    """Engines by id; `build(id)` makes the missing ones (it may raise: nothing is kept then)."""

    def __init__(self, build: Callable[[str], E]) -> None:
        self._build = build
        self._engines: dict[str, E] = {}
        self._lock = threading.Lock()

    def __contains__(self, engine_id: str) -> bool:
        return engine_id in self._engines

    def add(self, engine_id: str, engine: E) -> None:
        """Keep an engine built elsewhere (one loaded before the worker started)."""
        with self._lock:
            self._engines[engine_id] = engine

    def get(self, engine_id: str) -> E:
        """The engine for `engine_id`, built now if it is the first ask."""
        # One lock for all ids: two threads asking for a new engine must not both build it,
        # and building is rare (once per id and process).
        with self._lock:
            engine = self._engines.get(engine_id)
            if engine is None:
                engine = self._build(engine_id)
                self._engines[engine_id] = engine
            return engine
