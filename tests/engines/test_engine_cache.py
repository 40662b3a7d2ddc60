"""The cache both the segmentation and the generation engines of a worker live in."""

from __future__ import annotations

import threading
import time

import pytest

from backdrop.engines.engine_cache import EngineCache


class Built:
    """An engine that only remembers its id."""

    def __init__(self, engine_id: str) -> None:
        self.engine_id = engine_id

    def check(self) -> None: ...

    def load(self) -> None: ...

    def unload(self) -> None: ...

    def describe(self) -> str:
        return self.engine_id


def test_each_id_is_built_once_whatever_the_threads() -> None:
    built: list[str] = []

    def build(engine_id: str) -> Built:
        built.append(engine_id)
        time.sleep(0.02)  # widen the window in which a second thread could also build
        return Built(engine_id)

    cache = EngineCache(build)
    results: list[Built] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("a"))) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert built == ["a"] and all(result is results[0] for result in results)
    assert cache.get("b").engine_id == "b" and built == ["a", "b"]
    assert "a" in cache and "c" not in cache


def test_a_failed_build_keeps_nothing_and_an_added_engine_is_never_built() -> None:
    def build(engine_id: str) -> Built:
        raise LookupError(engine_id)

    cache = EngineCache(build)
    with pytest.raises(LookupError):
        cache.get("missing")
    assert "missing" not in cache
    preloaded = Built("ready")
    cache.add("ready", preloaded)
    assert cache.get("ready") is preloaded
