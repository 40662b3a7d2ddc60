"""The frame a scene is painted in and where the subject stands in it, and the painted scene.

A module of its own: the scenes (scenes/) and the elements (elements/) both paint on a
`Stage`, and the scenes place the elements, so neither package can hold it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from backdrop.engines.studio.layers import F


@dataclass(frozen=True)
class Stage:
    """The frame being painted (working resolution) and where the subject is in it (fractions)."""

    width: int
    height: int
    horizon: float  # where the floor meets the wall, or the land the sky
    base: float  # the subject's lowest row: it stands here
    left: float
    right: float
    top: float
    seed: int

    @property
    def center(self) -> float:
        return (self.left + self.right) / 2

    @property
    def aspect(self) -> float:
        return self.width / max(self.height, 1)

    def rng(self, salt: str) -> np.random.Generator:
        """A generator for one layer: the same seed and salt always draw the same numbers."""
        return np.random.default_rng(
            [self.seed % 2**32, self.seed // 2**32 % 2**32, zlib.crc32(salt.encode())]
        )


@dataclass
class Scene:
    """A painted backdrop (h, w, 3) and its depth (h, w): 0 where the subject stands, 1 far."""

    image: F
    depth: F
