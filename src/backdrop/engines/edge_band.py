"""Edge-band refinement: the alpha re-fitted to the photo's colours, only along the subject's edge.

He et al.'s guided filter with the RGB photo as guide (a 3x3 colour covariance per pixel)
fits the alpha locally as a linear function of the colour, so the edge follows the photo's
colour edges. Applied everywhere, or with a grey guide, it blurred edges and lowered
boundary F on every dev set (bench/BEST.md); used gently (small radius, small eps) and
only in a band a pixel or so around the uncertain part of the alpha, it is what lifted the
edge on all three sets there.

The work is done a tile at a time, with a halo of twice `radius`, and only on tiles that
hold band pixels: the filter's temporaries (some 30 float64 planes) stay a few MB on a
40 MP photo, and the time follows the length of the subject's edge, not the photo's area.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

# Alpha strictly between these is "uncertain": neither sure background nor sure subject.
_SURE = 0.02
_TILE = 256  # pixels a side


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
    height, width = alpha.shape
    halo = 2 * radius  # the filter reads `radius` pixels out, twice
    # Every tile reads the alpha as it came in: the new band values are kept aside (a few
    # bytes per band pixel) and written once all tiles are done.
    updates: list[tuple[slice, slice, npt.NDArray[np.bool_], FloatArray]] = []
    for top in range(0, height, _TILE):
        for left in range(0, width, _TILE):
            rows, cols = slice(top, min(top + _TILE, height)), slice(left, min(left + _TILE, width))
            where = band[rows, cols]
            if not where.any():
                continue
            y0, x0 = max(0, top - halo), max(0, left - halo)
            y1, x1 = min(height, rows.stop + halo), min(width, cols.stop + halo)
            filtered = colour_guided_filter(image[y0:y1, x0:x1], alpha[y0:y1, x0:x1], radius, eps)
            inner = filtered[top - y0 : rows.stop - y0, left - x0 : cols.stop - x0]
            updates.append((rows, cols, where, np.clip(inner[where], 0.0, 1.0)))
    for rows, cols, where, values in updates:
        alpha[rows, cols][where] = values
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

    def var(a: int, b: int) -> npt.NDArray[np.float64]:
        v = box(guide[..., a] * guide[..., b]) - mean_i[..., a] * mean_i[..., b]
        return v + eps if a == b else v

    # The 3x3 colour covariance (symmetric) inverted by cofactors, all pixels at once: a
    # fifth of the time of np.linalg.solve's per-pixel calls.
    rr, rg, rb, gg, gb, bb = var(0, 0), var(0, 1), var(0, 2), var(1, 1), var(1, 2), var(2, 2)
    c_rr, c_rg, c_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    c_gg, c_gb, c_bb = rr * bb - rb * rb, rg * rb - rr * gb, rr * gg - rg * rg
    det = rr * c_rr + rg * c_rg + rb * c_rb
    x, y, z = cov_ip[..., 0], cov_ip[..., 1], cov_ip[..., 2]
    coef = (
        np.stack(
            [
                c_rr * x + c_rg * y + c_rb * z,
                c_rg * x + c_gg * y + c_gb * z,
                c_rb * x + c_gb * y + c_bb * z,
            ],
            axis=-1,
        )
        / det[..., None]
    )
    offset = mean_p - (coef * mean_i).sum(axis=-1)
    filtered: FloatArray = ((box(coef) * guide).sum(axis=-1) + box(offset)).astype(np.float32)
    return filtered
