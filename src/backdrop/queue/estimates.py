"""How long an order of a kind will run, learned from the runs, by image size, forgetting.

A run is the model at a fixed input size (about constant) plus per-pixel work around it
(decode, resize, refine, composite, encode; a generated scene at full size). So a run of
`megapixels` is modelled as `rate * (share + (1 - share) * megapixels)` seconds: `rate` is what
a 1 MP order takes, `share` the part of it that does not grow with the pixels (per kind).
`rate` is a weighted mean of what the runs measured, each run's weight halving every
`half_life` seconds. A seed measured at start weighs as much as one fresh run, so one slow
outlier moves the estimate and then fades; the configured default, a guess, gives way to the
first real run at once.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from backdrop.kinds import Operation

# How fast a measured run stops counting.
HALF_LIFE_SECONDS = 300.0
# How many recent runs per kind are kept (older ones weigh almost nothing by then).
_RECENT_RUNS = 50
_SEED_WEIGHT = 1.0
_DEFAULT_WEIGHT = 0.01
# The share of a 1 MP order's time that does not grow with the pixels, before any run says
# otherwise. A removal is mostly the model at 1024²; a generation also renders its scene at
# the photo's size. (On a 2-core Zen 4: removal 0.5 s + 0.09 s/MP, generation 0.6 s + 0.5
# s/MP, growing faster past 4 MP: bench/ESTIMATES.md.)
FIXED_SHARE: dict[str, float] = {
    Operation.REMOVE_BACKGROUND: 0.8,
    Operation.GENERATE_BACKGROUND: 0.6,
    Operation.PRODUCT_PHOTOSHOOT: 0.6,
}
_OTHER_FIXED_SHARE = 0.5


@dataclass(frozen=True)
class _Run:
    at: float
    rate: float  # seconds per 1 MP-order equivalent


def size_units(kind: str, megapixels: float) -> float:
    """An order's size in 1 MP orders of its kind: the fixed part, plus the pixel part."""
    share = FIXED_SHARE.get(kind, _OTHER_FIXED_SHARE)
    return share + (1.0 - share) * max(megapixels, 0.0)


class RunTimes:
    """Expected run time per order kind and image size; thread-safe."""

    def __init__(
        self,
        default_seconds: float,
        *,
        half_life: float = HALF_LIFE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._default = default_seconds
        self._seeds: dict[str, float] = {}
        self._runs: dict[str, deque[_Run]] = {}
        self._half_life = half_life
        self._clock = clock
        self._lock = threading.Lock()

    def seed(self, kind: str, seconds_at_1mp: float) -> None:
        """What a 1 MP order of `kind` measured at start (or is known to take)."""
        with self._lock:
            self._seeds[kind] = seconds_at_1mp

    def record(self, kind: str, megapixels: float, seconds: float) -> None:
        with self._lock:
            runs = self._runs.setdefault(kind, deque(maxlen=_RECENT_RUNS))
            runs.append(_Run(self._clock(), seconds / size_units(kind, megapixels)))

    def expect(self, kind: str, megapixels: float = 1.0) -> float:
        """Seconds an order of `kind` on an image of `megapixels` should run."""
        return self.rate(kind) * size_units(kind, megapixels)

    def rate(self, kind: str) -> float:
        """Seconds a 1 MP order of `kind` should run."""
        now = self._clock()
        with self._lock:
            seed = self._seeds.get(kind)
            weight = _DEFAULT_WEIGHT if seed is None else _SEED_WEIGHT
            total = weight * (self._default if seed is None else seed)
            for run in self._runs.get(kind, ()):
                w = 0.5 ** ((now - run.at) / self._half_life)
                total += w * run.rate
                weight += w
        return total / weight

    def __repr__(self) -> str:
        with self._lock:
            kinds = sorted({*self._seeds, *self._runs})
        rates = ", ".join(f"{kind} {self.rate(kind):.2f} s" for kind in kinds)
        return f"RunTimes(1 MP: {rates or 'defaults'})"
