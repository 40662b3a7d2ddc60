"""What every engine, segmentation or generation, offers a worker: one lifecycle.

`check()` says cheaply whether the engine can run here, `load()` takes what it runs (weights,
caches) before the first use instead of during it, `unload()` gives it back, `describe()`
says what runs and where. `Lazy` holds what an engine loads, once, from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class Engine(Protocol):
    """An engine's lifecycle; what it computes is its own protocol's (`Segmenter`, ...)."""

    def check(self) -> None:
        """Raise `WeightsUnavailable` now if the engine cannot run here; loads nothing."""
        ...

    def load(self) -> object:
        """Load what the engine runs now (otherwise its first use does); safe from any thread."""
        ...

    def unload(self) -> None:
        """Free what `load` took; the next use loads it again."""
        ...

    def describe(self) -> str:
        """What runs and where, in words for a log line; loads nothing."""
        ...


class Lazy(Generic[T]):
    """A value made by `make` on first `get`, once whatever the threads; `clear` drops it."""

    def __init__(self, make: Callable[[], T], value: T | None = None) -> None:
        self._make = make
        self._value = value
        self._lock = threading.Lock()

    @property
    def value(self) -> T | None:
        """The value if it has been made, without making it."""
        return self._value

    def get(self) -> T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            # Another thread may have made it while this one waited for the lock.
            if self._value is None:
                self._value = self._make()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None
