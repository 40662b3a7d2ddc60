"""How unsure a cut-out is, from its alpha matte alone: Photoroom's `x-uncertainty-score`.

A confident matte is 0 or 255 almost everywhere, with a band one or two pixels wide of
in-between values along the subject's edge (anti-aliasing). Where the model hesitates — a
blurry or low-contrast subject, glass, hair, two candidate objects — the in-between band
widens or whole regions come out half-transparent. The score measures that band:

    a      = alpha / 255 for each pixel
    w(a)   = 1 - |2a - 1| for 0.1 < a < 0.9, else 0    (1 at a = 0.5, 0.2 at the cut-offs)
    U      = sum of w(a) over the image                (the weighted undecided area)
    S      = number of pixels with a >= 0.5             (the subject's area)
    score  = min(1, UNDECIDED_SCALE * U / S), and 1 when S = 0 (no subject found)

With UNDECIDED_SCALE = 4 a score of 1 means the weighted undecided area is at least a quarter
of the subject's; a crisp disc of radius 150 px scores about 0.03, the same disc with an
edge 10 px soft about 0.26 and 30 px soft about 0.77 (tests/imaging/test_uncertainty.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

UNDECIDED_LOW, UNDECIDED_HIGH = 0.1, 0.9
UNDECIDED_SCALE = 4.0
# Pixels read per step: the score of a 36 MP matte without a 36 MP float copy of it.
_ROWS_PER_STEP = 256


def uncertainty_score(alpha: NDArray[np.uint8]) -> float:
    """The score above for a (height, width) uint8 matte, in [0, 1]."""
    if alpha.ndim != 2 or alpha.dtype != np.uint8:
        raise ValueError(f"a matte is a 2-D uint8 array, not {alpha.dtype} {alpha.shape}")
    # Each uint8 value's weight, looked up rather than computed per pixel.
    levels = np.arange(256, dtype=np.float64) / 255.0
    undecided = (levels > UNDECIDED_LOW) & (levels < UNDECIDED_HIGH)
    weights = np.where(undecided, 1.0 - np.abs(2.0 * levels - 1.0), 0.0)
    counts = np.zeros(256, dtype=np.int64)
    for top in range(0, alpha.shape[0], _ROWS_PER_STEP):
        counts += np.bincount(alpha[top : top + _ROWS_PER_STEP].ravel(), minlength=256)
    subject = int(counts[128:].sum())  # a >= 0.5, as the subject's box counts it
    if subject == 0:
        return 1.0
    weighted = float(counts @ weights)
    return min(1.0, UNDECIDED_SCALE * weighted / subject)
