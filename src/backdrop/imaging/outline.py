"""A region's outline: one definition for where `best` places the edge and where boundary F
scores it (engines/edge_level.py, evaluation/scores.py)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BoolArray = npt.NDArray[np.bool_]


def contour(region: BoolArray) -> BoolArray:
    """Pixels of `region` with a 4-neighbour outside it (the border replicates, so is not one)."""
    padded = np.pad(region, 1, mode="edge")
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:] & region
    edge: BoolArray = region & ~interior
    return edge
