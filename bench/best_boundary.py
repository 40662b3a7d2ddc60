"""Issue 23, `--quality best`'s boundary: what each way in gives on every dev set.

    .venv/bin/python bench/best_boundary.py --cache DIR --every 3     # the model runs, then scores
    .venv/bin/python bench/best_boundary.py --cache DIR --every 3 --score-only

Step 1 runs the int8 graph (what `best` runs on a CPU without AMX) on every `--every`-th image
of davis, sod_bsds and berkeley: the photo stretched to 1024², its mirror image, and a second
look at the subject's box (the mirror average's alpha >= 0.5, grown by a margin) stretched to
1024². Raw 0..1 predictions go to `--cache` (float16, outside the repository), with the
seconds each run took. Step 2 turns them into alphas with each candidate and scores them
(backdrop.evaluation.scores) against the truth as it is and with a 7 px unknown band along the
subject's edge (bench/variants.py's `banded`: the shape of the held-back photos' truth).
Results go to `bench/best_boundary.json` with the machine (bench/machine.py).
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
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine
from variants import EVAL, SETS, Graphs, banded

from backdrop.engines import refine
from backdrop.engines.segmentation import TunedIsnetSegmenter
from backdrop.evaluation.scores import score

REPO = Path(__file__).resolve().parent.parent
CROP_MARGIN = 0.15  # of the box's side, each way


def stems(dataset: str, every: int) -> list[str]:
    return sorted(p.stem for p in (EVAL / dataset / "masks").iterdir())[::every]


def subject_box(alpha: np.ndarray, margin: float = CROP_MARGIN) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of alpha >= 0.5 grown by `margin`, or None if empty."""
    rows = np.flatnonzero((alpha >= 0.5).any(axis=1))
    cols = np.flatnonzero((alpha >= 0.5).any(axis=0))
    if rows.size == 0:
        return None
    height, width = alpha.shape
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    grow_y, grow_x = round((bottom - top) * margin), round((right - left) * margin)
    return (
        max(0, left - grow_x),
        max(0, top - grow_y),
        min(width, right + grow_x),
        min(height, bottom + grow_y),
    )


def cache_predictions(
    graph: Path, cache: Path, every: int, sets: tuple[str, ...] = SETS
) -> dict[str, float]:
    graphs = Graphs(graph)
    spent = {"stretch1024": 0.0, "mirror1024": 0.0, "crop1024": 0.0}
    count = 0
    for dataset in sets:
        folder = cache / dataset
        folder.mkdir(parents=True, exist_ok=True)
        for stem in stems(dataset, every):
            target = folder / f"{stem}.npz"
            if target.exists():
                continue
            photo = Image.open(EVAL / dataset / "images" / f"{stem}.jpg").convert("RGB")
            batch = TunedIsnetSegmenter.input_batch(photo, (1024, 1024))
            started = time.perf_counter()
            plain = graphs.run(batch)
            spent["stretch1024"] += time.perf_counter() - started
            started = time.perf_counter()
            mirror = graphs.run(np.ascontiguousarray(batch[..., ::-1]))[:, ::-1]
            spent["mirror1024"] += time.perf_counter() - started
            average = refine.resize((plain + mirror) / 2, photo.size)
            box = subject_box(average) or (0, 0, photo.width, photo.height)
            crop = photo.crop(box)
            started = time.perf_counter()
            look = graphs.run(TunedIsnetSegmenter.input_batch(crop, (1024, 1024)))
            spent["crop1024"] += time.perf_counter() - started
            count += 1
            np.savez(
                target,
                plain=plain.astype(np.float16),
                mirror=np.ascontiguousarray(mirror).astype(np.float16),
                crop=look.astype(np.float16),
                box=np.array(box),
            )
        print(dataset, "cached", flush=True)
    return {k: v / max(count, 1) for k, v in spent.items()}


# -- candidates -------------------------------------------------------------------------------


def soft_alpha(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The prediction stretched and resized to the photo: refine's steps 1-2."""
    return refine.resize(refine.stretch(plane.astype(np.float32)), size).copy()


def finish(alpha: np.ndarray) -> np.ndarray:
    """The default refinement's remaining steps (ramp, clip, specks) on a full-size alpha."""
    settings = refine.RefineSettings(
        stretch=False, contrast_low=0.4, contrast_high=0.6, speck_fraction=0.05
    )
    return refine.refine_to_size(alpha, (alpha.shape[1], alpha.shape[0]), settings)


def uncertain_band(alpha: np.ndarray, grow: int, low: float = 0.02) -> np.ndarray:
    """Pixels within `grow` px of one whose alpha is neither sure background nor subject."""
    import cv2

    soft = ((alpha > low) & (alpha < 1 - low)).astype(np.uint8)
    edge = cv2.morphologyEx(
        (alpha >= 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)
    )
    size = 2 * grow + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    return cv2.dilate(soft | edge, kernel) > 0


def color_guided_filter(
    image: np.ndarray, source: np.ndarray, radius: int, eps: float
) -> np.ndarray:
    """He et al.'s guided filter with the RGB photo as guide (3x3 covariance per pixel)."""
    import cv2

    i = image.astype(np.float32) / 255.0
    p = source.astype(np.float32)
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(x: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.boxFilter(x, -1, ksize, borderType=cv2.BORDER_REFLECT), np.float32)

    mean_i = box(i)
    mean_p = box(p)
    cov_ip = box(i * p[..., None]) - mean_i * mean_p[..., None]
    var = np.empty((*i.shape[:2], 3, 3), np.float32)
    for a in range(3):
        for b in range(a, 3):
            v = box(i[..., a] * i[..., b]) - mean_i[..., a] * mean_i[..., b]
            var[..., a, b] = var[..., b, a] = v
    var += eps * np.eye(3, dtype=np.float32)
    coef = np.linalg.solve(var, cov_ip[..., None])[..., 0]
    offset = mean_p - (coef * mean_i).sum(axis=-1)
    return (box(coef) * i).sum(axis=-1) + box(offset)


def band_guided(alpha, photo, radius, eps, grow, color):  # type: ignore[no-untyped-def]
    import cv2

    if color:
        filtered = color_guided_filter(photo, alpha, radius, eps)
    else:
        grey = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
        filtered = refine.guided_filter(grey, alpha, radius, eps)
    if grow < 0:  # everywhere
        return np.clip(filtered, 0.0, 1.0)
    band = uncertain_band(alpha, grow)
    out = alpha.copy()
    out[band] = np.clip(filtered[band], 0.0, 1.0)
    return out


def second_look(alpha, crop, box, blend):  # type: ignore[no-untyped-def]
    """The crop's prediction pasted into its box, averaged with `blend` weight."""
    left, top, right, bottom = (int(v) for v in box)
    look = soft_alpha_nostretch(crop, (right - left, bottom - top))
    out = alpha.copy()
    out[top:bottom, left:right] = (1 - blend) * out[top:bottom, left:right] + blend * look
    return out


def soft_alpha_nostretch(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return refine.resize(plane.astype(np.float32), size).copy()


Candidate = Callable[[dict[str, Any], np.ndarray], np.ndarray]


def _crop_small(d: dict[str, Any], share: float) -> bool:
    left, top, right, bottom = (int(v) for v in d["box"])
    return (right - left) * (bottom - top) < share * d["area"]


CANDIDATES: dict[str, Candidate] = {
    "best now (mirror avg + default refine)": lambda d, ph: finish(d["avg"]),
    "bare stretch1024 (balanced)": lambda d, ph: finish(d["one"]),
    "guided r4 everywhere (grey)": lambda d, ph: finish(
        band_guided(d["avg"], ph, 4, 1e-3, -1, False)
    ),
    "band grey r4 eps1e-3 grow3": lambda d, ph: finish(
        band_guided(d["avg"], ph, 4, 1e-3, 3, False)
    ),
    "band grey r8 eps1e-2 grow3": lambda d, ph: finish(
        band_guided(d["avg"], ph, 8, 1e-2, 3, False)
    ),
    "band color r4 eps1e-3 grow3": lambda d, ph: finish(
        band_guided(d["avg"], ph, 4, 1e-3, 3, True)
    ),
    "band color r4 eps1e-4 grow2": lambda d, ph: finish(
        band_guided(d["avg"], ph, 4, 1e-4, 2, True)
    ),
    "band color r8 eps1e-3 grow4": lambda d, ph: finish(
        band_guided(d["avg"], ph, 8, 1e-3, 4, True)
    ),
    "crop look 0.5 always": lambda d, ph: finish(second_look(d["avg"], d["crop"], d["box"], 0.5)),
    "crop look 0.5 if box<50%": lambda d, ph: finish(
        second_look(d["avg"], d["crop"], d["box"], 0.5) if _crop_small(d, 0.5) else d["avg"]
    ),
    "crop look 1.0 if box<50%": lambda d, ph: finish(
        second_look(d["avg"], d["crop"], d["box"], 1.0) if _crop_small(d, 0.5) else d["avg"]
    ),
    "crop 0.5 + band color r4 eps1e-3": lambda d, ph: finish(
        band_guided(second_look(d["avg"], d["crop"], d["box"], 0.5), ph, 4, 1e-3, 3, True)
    ),
    "band color r2 eps1e-4 grow1": lambda d, ph: finish(
        band_guided(d["avg"], ph, 2, 1e-4, 1, True)
    ),
    "band color r4 eps1e-5 grow2": lambda d, ph: finish(
        band_guided(d["avg"], ph, 4, 1e-5, 2, True)
    ),
    "crop look 0.5 if box<25%": lambda d, ph: finish(
        second_look(d["avg"], d["crop"], d["box"], 0.5) if _crop_small(d, 0.25) else d["avg"]
    ),
    "crop look 0.5 if box<10%": lambda d, ph: finish(
        second_look(d["avg"], d["crop"], d["box"], 0.5) if _crop_small(d, 0.10) else d["avg"]
    ),
    "crop look 0.5 in band only": lambda d, ph: finish(
        band_only(d["avg"], d["crop"], d["box"], 0.5)
    ),
    "crop look 0.3 in band only": lambda d, ph: finish(
        band_only(d["avg"], d["crop"], d["box"], 0.3)
    ),
    # Where the edge sits: the ramp's middle moved out (0.3-0.5) or in (0.5-0.7).
    "ramp 0.3-0.5 (edge out)": lambda d, ph: ramp(d["avg"], 0.3, 0.5),
    "ramp 0.5-0.7 (edge in)": lambda d, ph: ramp(d["avg"], 0.5, 0.7),
}


def ramp(alpha: np.ndarray, low: float, high: float) -> np.ndarray:
    settings = refine.RefineSettings(
        stretch=False, contrast_low=low, contrast_high=high, speck_fraction=0.05
    )
    return refine.refine_to_size(alpha, (alpha.shape[1], alpha.shape[0]), settings)


def band_only(alpha, crop, box, blend):  # type: ignore[no-untyped-def]
    """The second look used only in the uncertain band around the first look's edge."""
    looked = second_look(alpha, crop, box, blend)
    band = uncertain_band(alpha, 3)
    out = alpha.copy()
    out[band] = looked[band]
    return out


def load_case(cache: Path, dataset: str, stem: str) -> tuple[Any, ...]:
    """Photo, truth, banded truth, the cached predictions and the bare and mirror-averaged
    soft alphas at the photo's size."""
    photo = np.asarray(Image.open(EVAL / dataset / "images" / f"{stem}.jpg").convert("RGB"))
    truth = np.asarray(Image.open(EVAL / dataset / "masks" / f"{stem}.png").convert("L"))
    stored = np.load(cache / dataset / f"{stem}.npz")
    size = (photo.shape[1], photo.shape[0])
    plain = stored["plain"].astype(np.float32)
    mirror = stored["mirror"].astype(np.float32)
    alphas = {"one": soft_alpha(plain, size), "avg": soft_alpha((plain + mirror) / 2, size)}
    return photo, truth, banded(truth), stored, alphas


def score_one(job: tuple[Path, str, str, list[str]]) -> dict[str, list[float]]:
    cache, dataset, stem, names = job
    photo, truth, truth_banded, stored, alphas = load_case(cache, dataset, stem)
    size = (photo.shape[1], photo.shape[0])
    data = {
        **alphas,
        "crop": stored["crop"].astype(np.float32),
        "box": stored["box"],
        "area": size[0] * size[1],
    }
    scores: dict[str, list[float]] = {}
    for name in names:
        started = time.perf_counter()
        alpha = CANDIDATES[name](data, photo)
        seconds = time.perf_counter() - started
        a, b = score(alpha, truth), score(alpha, truth_banded)
        scores[name] = [a.iou, a.mae, a.boundary_f, b.iou, b.mae, b.boundary_f, seconds]
    return scores


def score_all(
    cache: Path, every: int, names: list[str], sets: tuple[str, ...] = SETS
) -> dict[str, Any]:
    means: dict[str, Any] = {}
    with Pool(2) as pool:
        for dataset in sets:
            jobs = [(cache, dataset, stem, names) for stem in stems(dataset, every)]
            jobs = [j for j in jobs if (cache / dataset / f"{j[2]}.npz").exists()]
            results = pool.map(score_one, jobs)
            means[dataset] = {
                "images": len(results),
                **{n: np.mean([r[n] for r in results], axis=0).tolist() for n in names},
            }
    return means


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="scratch folder")
    parser.add_argument("--every", type=int, default=3)
    parser.add_argument(
        "--graph",
        type=Path,
        default=Path.home() / ".cache/backdrop/models/isnet-general-int8-nncf.onnx",
    )
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated dev sets")
    parser.add_argument("--only", help="candidate names separated by ;")
    parser.add_argument("--results", type=Path, default=REPO / "bench/best_boundary.json")
    args = parser.parse_args()
    sets = tuple(args.sets.split(","))
    seconds = {} if args.score_only else cache_predictions(args.graph, args.cache, args.every, sets)
    names = args.only.split(";") if args.only else list(CANDIDATES)
    means = score_all(args.cache, args.every, names, sets)
    record = {
        "graph": args.graph.name,
        "every": args.every,
        "model_seconds_per_image": seconds,
        "columns": [
            "IoU",
            "MAE",
            "boundary F",
            "banded IoU",
            "banded MAE",
            "banded boundary F",
            "post seconds",
        ],
        "means": means,
        "machine": machine(),
    }
    args.results.write_text(json.dumps(record, indent=1) + "\n")
    for dataset, table in means.items():
        print(f"\n{dataset} ({table['images']}): IoU MAE bF | banded IoU MAE bF | s")
        for name in names:
            print(f"  {name:40s} " + " ".join(f"{v:.4f}" for v in table[name]))


if __name__ == "__main__":
    main()
