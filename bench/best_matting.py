"""Issue 23, `--quality best`'s boundary, second round: matting, and where the edge sits.

    .venv/bin/python bench/best_boundary.py --cache DIR --every 1 \
        --only "bare stretch1024 (balanced)"
    PYTHONPATH=src .venv/bin/python bench/best_matting.py --cache DIR --only "..."

The first command caches the int8 graph's raw predictions (photo and mirror image) for every
image of the three dev sets. This one scores candidates on the mirror average: matting as
rembg runs it (trimap from the thresholds 240/10 eroded by a 10x10 square, pymatting's
`estimate_alpha_cf`; pymatting is no backdrop dependency, install it beside), closed-form
matting in a band around the model's edge, rembg's `post_process`, and the ramp's centre
moved to the level whose contour follows the photo's edges (per photo, `snapped`; what
`best` ships is engines/edge_level.py, scored as "best now"). Results go to `--results`
with the machine (bench/machine.py); bench/BEST.md has the tables.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from multiprocessing import Pool
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from best_boundary import band_guided, finish, load_case, ramp, stems
from machine import machine
from variants import SETS

from backdrop.engines.edge_level import edge_strength
from backdrop.evaluation.scores import score

REPO = Path(__file__).resolve().parent.parent


def rembg_trimap(alpha: np.ndarray, fg: int = 240, bg: int = 10, size: int = 10) -> np.ndarray:
    """rembg's `alpha_matting_cutout` trimap (0, 0.5, 1) from a 0..1 alpha."""
    from scipy.ndimage import binary_erosion

    mask = (alpha * 255).astype(np.uint8)
    structure = np.ones((size, size), dtype=np.uint8)
    sure_fg = binary_erosion(mask > fg, structure=structure)
    sure_bg = binary_erosion(mask < bg, structure=structure, border_value=1)
    trimap = np.full(mask.shape, 0.5)
    trimap[sure_fg] = 1.0
    trimap[sure_bg] = 0.0
    return trimap


def band_trimap(alpha: np.ndarray, width: int) -> np.ndarray:
    """Unknown within `width` px of the alpha >= 0.5 edge, or where the model is unsure."""
    import cv2

    subject = (alpha >= 0.5).astype(np.uint8)
    size = 2 * width + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    sure_fg = cv2.erode(subject, kernel, borderType=cv2.BORDER_REPLICATE) > 0
    sure_bg = cv2.dilate(subject, kernel, borderType=cv2.BORDER_REPLICATE) == 0
    trimap = np.full(alpha.shape, 0.5)
    trimap[sure_fg & (alpha > 0.9)] = 1.0
    trimap[sure_bg & (alpha < 0.1)] = 0.0
    return trimap


def matte(photo: np.ndarray, trimap: np.ndarray, method: str = "cf") -> np.ndarray:
    from pymatting import estimate_alpha_cf, estimate_alpha_knn, estimate_alpha_lkm

    image = photo.astype(np.float64) / 255.0
    if not ((trimap == 0.5).any() and (trimap == 0).any() and (trimap == 1).any()):
        return trimap.clip(0, 1).astype(np.float32)
    solve = {"cf": estimate_alpha_cf, "knn": estimate_alpha_knn, "lkm": estimate_alpha_lkm}[method]
    return np.asarray(solve(image, trimap), np.float32)


def scaled(photo: np.ndarray, at_mp: float) -> int:
    """A band width of `at_mp` px per megapixel's side, at least 2."""
    side = (photo.shape[0] * photo.shape[1] / 1e6) ** 0.5
    return max(2, round(at_mp * side))


Candidate = Callable[[dict[str, Any], np.ndarray], np.ndarray]


def shipped(alpha: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """What `best` does after mirror averaging (engines/refine.py's BEST_REFINE)."""
    from backdrop.engines.refine import BEST_REFINE, refine_to_size

    return refine_to_size(alpha, (alpha.shape[1], alpha.shape[0]), BEST_REFINE, lambda: photo)


CANDIDATES: dict[str, Candidate] = {
    "best now (mirror avg + edge level)": lambda d, ph: shipped(d["avg"], ph),
    "best before (mirror avg + default refine)": lambda d, ph: finish(d["avg"]),
    "bare + default refine (balanced)": lambda d, ph: finish(d["one"]),
    "rembg matting on bare (rembg +am)": lambda d, ph: matte(ph, rembg_trimap(d["one"])),
    "rembg matting on mirror avg": lambda d, ph: matte(ph, rembg_trimap(d["avg"])),
    "rembg matting on mirror avg, ramped": lambda d, ph: finish(matte(ph, rembg_trimap(d["avg"]))),
    "band 3px cf, ramped": lambda d, ph: finish(matte(ph, band_trimap(d["avg"], 3))),
    "band 6px cf, ramped": lambda d, ph: finish(matte(ph, band_trimap(d["avg"], 6))),
    "band 6px cf": lambda d, ph: matte(ph, band_trimap(d["avg"], 6)),
    "band 10px cf, ramped": lambda d, ph: finish(matte(ph, band_trimap(d["avg"], 10))),
    "band 6px cf avg model, ramped": lambda d, ph: finish(
        (matte(ph, band_trimap(d["avg"], 6)) + d["avg"]) / 2
    ),
    "ramp 0.3-0.5 (edge out)": lambda d, ph: ramp(d["avg"], 0.3, 0.5),
    "rembg post-process on mirror avg": lambda d, ph: post_process(d["avg"]),
    "rembg matting on mirror avg + post-process": lambda d, ph: post_process(
        matte(ph, rembg_trimap(d["avg"]))
    ),
    "band 6px cf + post-process": lambda d, ph: post_process(matte(ph, band_trimap(d["avg"], 6))),
    "snap: level with the strongest photo edge": lambda d, ph: snapped(d["avg"], ph),
    "snap levels 0.3-0.6": lambda d, ph: snapped(d["avg"], ph, (0.3, 0.4, 0.5, 0.6)),
    "snap + post-process": lambda d, ph: post_process(snapped(d["avg"], ph)),
    "snap gated 1.1": lambda d, ph: snapped(d["avg"], ph, gate=1.1),
    "snap gated 1.25": lambda d, ph: snapped(d["avg"], ph, gate=1.25),
    "snap local 32px gated 1.1": lambda d, ph: snapped_local(d["avg"], ph, 32, 1.1),
    "snap local 64px gated 1.1": lambda d, ph: snapped_local(d["avg"], ph, 64, 1.1),
    "snap local 32px gated 1.25": lambda d, ph: snapped_local(d["avg"], ph, 32, 1.25),
    "snap gated 1.5": lambda d, ph: snapped(d["avg"], ph, gate=1.5),
    "snap gated 1.25 levels 0.3-0.7": lambda d, ph: snapped(
        d["avg"], ph, (0.3, 0.4, 0.5, 0.6, 0.7), gate=1.25
    ),
    "best before: mirror avg + edge band r2": lambda d, ph: ramp(
        banded_filter(d["avg"], ph), 0.4, 0.6
    ),
    "edge band r2 + snap gated 1.25": lambda d, ph: snapped(
        banded_filter(d["avg"], ph), ph, gate=1.25
    ),
    "edge band r2 + snap gated 1.5": lambda d, ph: snapped(
        banded_filter(d["avg"], ph), ph, gate=1.5
    ),
    "snap gated 2.0": lambda d, ph: snapped(d["avg"], ph, gate=2.0),
    "snap gated 1.5 levels 0.3-0.7": lambda d, ph: snapped(
        d["avg"], ph, (0.3, 0.4, 0.5, 0.6, 0.7), gate=1.5
    ),
    "snap gated 1.5 levels 0.3-0.7 ramp 0.05": lambda d, ph: snapped(
        d["avg"], ph, (0.3, 0.4, 0.5, 0.6, 0.7), gate=1.5, half=0.05
    ),
    "snap gated 1.5 levels 0.4-0.6": lambda d, ph: snapped(d["avg"], ph, (0.4, 0.5, 0.6), gate=1.5),
    "edge level, normal gradient, gate 1.5": lambda d, ph: snapped(
        d["avg"], ph, (0.4, 0.5, 0.6), gate=1.5, normal=True
    ),
    "edge level, normal gradient, gate 1.25": lambda d, ph: snapped(
        d["avg"], ph, (0.4, 0.5, 0.6), gate=1.25, normal=True
    ),
    "edge level, normal gradient, gate 1.5, 0.3-0.7": lambda d, ph: snapped(
        d["avg"], ph, (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7), gate=1.5, normal=True
    ),
    "edge level, gate 1.5, steps of 0.05": lambda d, ph: snapped(
        d["avg"], ph, (0.4, 0.45, 0.5, 0.55, 0.6), gate=1.5
    ),
    "snap gated 1.5 on bare (balanced + snap)": lambda d, ph: snapped(
        d["one"], ph, (0.3, 0.4, 0.5, 0.6, 0.7), gate=1.5
    ),
}


def banded_filter(alpha: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """`best`'s step before this one: the colour-guided filter (r 2, eps 1e-4) in a 1 px band."""
    return band_guided(alpha, photo, 2, 1e-4, 1, True)


LEVELS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def snapped(
    alpha: np.ndarray,
    photo: np.ndarray,
    levels: tuple[float, ...] = LEVELS,
    gate: float = 1.0,
    half: float = 0.1,
    normal: bool = False,
) -> np.ndarray:
    """The default's ramp centred on the level whose contour runs along the strongest edges,
    if that contour's mean edge strength is `gate` times the 0.5 contour's."""
    from backdrop.imaging.outline import contour

    strength = normal_strength(photo, alpha) if normal else edge_strength(photo)
    means = {}
    for level in levels:
        edge = contour(alpha >= level)
        if edge.any():
            means[level] = float(strength[edge].mean())
    level = max(means, key=means.__getitem__) if means else 0.5
    if 0.5 in means and means[level] < gate * means[0.5]:
        level = 0.5
    return ramp(alpha, level - half, level + half)


def normal_strength(photo: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The photo's gradient along the alpha's normal (edges parallel to the contour only)."""
    import cv2

    image = photo.astype(np.float32)
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3)
    smooth = cv2.GaussianBlur(alpha.astype(np.float32), (0, 0), 1.5)
    ax = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    ay = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    norm = np.sqrt(ax * ax + ay * ay) + 1e-6
    along = np.abs(gx * (ax / norm)[..., None] + gy * (ay / norm)[..., None])
    return np.asarray(along.max(axis=2), np.float32)


def snapped_local(alpha: np.ndarray, photo: np.ndarray, tile: int, gate: float) -> np.ndarray:
    """`snapped` per tile of the edge, the levels smoothed between tiles."""
    import cv2

    from backdrop.imaging.outline import contour

    strength = edge_strength(photo)
    edges = {level: contour(alpha >= level) for level in LEVELS}
    height, width = alpha.shape
    rows, cols = -(-height // tile), -(-width // tile)
    grid = np.full((rows, cols), 0.5, np.float32)
    for r in range(rows):
        for c in range(cols):
            window = (slice(r * tile, (r + 1) * tile), slice(c * tile, (c + 1) * tile))
            means = {}
            for level, edge in edges.items():
                e = edge[window]
                if e.sum() >= tile // 4:
                    means[level] = float(strength[window][e].mean())
            if 0.5 not in means:
                continue
            level = max(means, key=means.__getitem__)
            if means[level] >= gate * means[0.5]:
                grid[r, c] = level
    levels = cv2.resize(grid, (cols * tile, rows * tile), interpolation=cv2.INTER_LINEAR)
    levels = cv2.GaussianBlur(levels, (0, 0), tile / 2)[:height, :width]
    out = np.clip((alpha - (levels - 0.1)) / 0.2, 0.0, 1.0).astype(np.float32)
    return ramp(out, 0.4, 0.6)


def post_process(alpha: np.ndarray) -> np.ndarray:
    """rembg's `post_process`: opening by a 3x3 ellipse, Gaussian blur 5x5 (sigma 2), 127."""
    import cv2

    mask = (np.clip(alpha, 0, 1) * 255).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.GaussianBlur(mask, (5, 5), sigmaX=2, sigmaY=2, borderType=cv2.BORDER_DEFAULT)
    return np.where(mask < 127, 0, 255).astype(np.uint8)


def score_one(job: tuple[Path, str, str, list[str]]) -> dict[str, list[float]]:
    cache, dataset, stem, names = job
    photo, truth, truth_banded, _, data = load_case(cache, dataset, stem)
    scores: dict[str, list[float]] = {}
    for name in names:
        started = time.perf_counter()
        alpha = CANDIDATES[name](data, photo)
        seconds = time.perf_counter() - started
        if alpha.dtype != np.uint8:
            alpha = (np.clip(alpha, 0, 1) * 255 + 0.5).astype(np.uint8)
        a, b = score(alpha, truth), score(alpha, truth_banded)
        scores[name] = [a.iou, a.mae, a.boundary_f, b.iou, b.mae, b.boundary_f, seconds]
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="best_boundary.py's cache")
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated dev sets")
    parser.add_argument("--only", help="candidate names separated by ;")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--results", type=Path, default=REPO / "bench/best_matting.json")
    args = parser.parse_args()
    names = args.only.split(";") if args.only else list(CANDIDATES)
    means: dict[str, Any] = {}
    with Pool(args.processes) as pool:
        for dataset in args.sets.split(","):
            jobs = [(args.cache, dataset, s, names) for s in stems(dataset, args.every)]
            jobs = [j for j in jobs if (args.cache / dataset / f"{j[2]}.npz").exists()]
            results = pool.map(score_one, jobs)
            means[dataset] = {
                "images": len(results),
                **{n: np.mean([r[n] for r in results], axis=0).tolist() for n in names},
            }
            print(dataset, len(results), flush=True)
            for n in names:
                print(f"  {n:45s}", " ".join(f"{v:.4f}" for v in means[dataset][n]))
    record = {
        "every": args.every,
        "columns": ["iou", "mae", "bf", "banded iou", "banded mae", "banded bf", "post s/img"],
        "means": means,
        "machine": machine(),
    }
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
