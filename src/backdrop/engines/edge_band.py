"""Edge-band refinement: the alpha re-fitted to the photo's colours, only along the subject's edge.

He et al.'s guided filter with the RGB photo as guide (a 3x3 colour covariance per pixel)
fits the alpha locally as a linear function of the colour, so the edge follows the photo's
colour edges. Applied everywhere, or with a grey guide, it blurred edges and lowered
boundary F on every dev set (bench/BEST.md); used gently (small radius, small eps) and
only in a band a pixel or so around the uncertain part of the alpha, it is what lifted the
edge on all three sets there.

The work is done a strip of rows at a time, with a halo of `radius` rows, and only on strips
that hold band pixels: the filter's temporaries (some 30 float64 planes) then stay a few MB
on a 40 MP photo, and a photo whose subject is small costs little.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

# Alpha strictly between these is "uncertain": neither sure background nor sure subject.
_SURE = 0.02
_STRIP_ROWS = 256


def uncertain_band(alpha: FloatArray, grow: int) -> npt.NDArray[np.bool_]:
    """Pixels within `grow` px of an uncertain alpha or of the subject's edge (alpha = 0.5)."""
    import cv2

    soft = ((alpha > _SURE) & (alpha < 1 - _SURE)).astype(np.uint8)
    solid = (alpha >= 0.5).astype(np.uint8)
    edge = np.asarray(
        cv2.morphologyEx(solid, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)), np.uint8
    )
    size = 2 * grow + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    band: npt.NDArray[np.bool_] = cv2.dilate(soft | edge, kernel) > 0
    return band


def refine_edge_band(
    alpha: FloatArray, image: npt.NDArray[np.uint8], radius: int, eps: float, grow: int
) -> FloatArray:
    """`alpha` (H, W, 0..1, changed in place and returned) with its band pixels replaced by
    the colour-guided filter's output, clipped to 0..1; `image` is the (H, W, 3) RGB photo."""
    band = uncertain_band(alpha, grow)
    height, halo = alpha.shape[0], 2 * radius  # the filter reads `radius` rows out, twice
    # The rows above a strip as they were before the strip above it was written: the filter
    # must read the alpha as it came in, not as refined so far.
    above = alpha[:0].copy()
    for top in range(0, height, _STRIP_ROWS):
        bottom = min(top + _STRIP_ROWS, height)
        stop = min(height, bottom + halo)
        rows = band[top:bottom]
        start = top - above.shape[0]
        source = np.concatenate([above, alpha[top:stop]])
        above = alpha[max(0, bottom - halo) : bottom].copy()
        if not rows.any():
            continue
        filtered = colour_guided_filter(image[start:stop], source, radius, eps)
        inner = filtered[top - start : bottom - start]
        target = alpha[top:bottom]
        target[rows] = np.clip(inner[rows], 0.0, 1.0)
    return alpha


def colour_guided_filter(
    image: npt.NDArray[np.uint8], source: FloatArray, radius: int, eps: float
) -> FloatArray:
    """He et al.'s guided filter of `source` with the RGB `image` as guide (eps on 0..1)."""
    import cv2

    # float64: the variances are differences of nearly equal means, and with eps as small as
    # 1e-4 float32's rounding (which depends on where OpenCV's running box sums start) moved
    # the result by up to 0.03; in float64 a strip gives the same numbers as the whole photo.
    guide = image.astype(np.float64) / 255.0
    p = np.asarray(source, dtype=np.float64)
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = np.asarray(
            cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT), dtype=np.float64
        )
        return out

    mean_i = box(guide)
    mean_p = box(p)
    cov_ip = box(guide * p[..., None]) - mean_i * mean_p[..., None]
    var = np.empty((*guide.shape[:2], 3, 3), np.float64)
    for a in range(3):
        for b in range(a, 3):
            v = box(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
            var[..., a, b] = v
            var[..., b, a] = v
    var += eps * np.eye(3)
    coef = np.asarray(np.linalg.solve(var, cov_ip[..., None])[..., 0], dtype=np.float64)
    offset = mean_p - (coef * mean_i).sum(axis=-1)
    filtered: FloatArray = ((box(coef) * guide).sum(axis=-1) + box(offset)).astype(np.float32)
    return filtered
