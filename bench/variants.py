"""Ways in for issue 11, measured on the dev sets: input geometry, mirror averaging, refinement.

    .venv/bin/python bench/variants.py --cache DIR        # ~25 min on 2 cores: the model runs
    .venv/bin/python bench/variants.py --cache DIR --score-only
    .venv/bin/python bench/variants.py --cache DIR --geometries stretch1024,stretch896,stretch960 \
        --results bench/variants_input_size.json       # ~35 min: smaller model inputs

Step 1 runs a graph (default: the int8 graph the default runs on an AVX2 CPU) over every image
of both dev sets once per input geometry and keeps its raw 0..1 predictions (float16, outside
the repository, in `--cache`). Step 2 turns them into alphas with each post-processing
variant and scores them (backdrop.evaluation.scores) against the truth as it is, and against
the truth with a 7 px unknown band along the subject's edge (value 128, not scored): the shape
of a GrabCut-style truth, which the held-back photos have and the dev sets do not.

Input geometries (ISNet's export has its upsampling sizes as constants; they are rescaled per
input shape here, which needs sides that are multiples of 64):
- `stretch1024`: the photo stretched to 1024² (what the default does);
- `stretch768`, `stretch896`, `stretch960`, `stretch1152`: stretched to that size, squared;
- `aspect1024`, `aspect768`: the aspect ratio kept, long side 1024 / 768;
- `reflect1024`, `replicate1024`: a margin of 1/16 of each side mirrored / replicated around the
  photo (for subjects cut by the border), then stretched to 1024²;
- `mirror1024`: the mirror image stretched to 1024², its prediction mirrored back.
Combinations scored: `mirror-avg` (stretch1024 and mirror1024 averaged: `--quality best`) and
`two-scale` (0.7 stretch1024 + 0.3 stretch1152: the isnet-general-multiscale graph).
Results go to `bench/variants.json`, with the machine (bench/machine.py).
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

from backdrop.engines import refine
from backdrop.engines.segmentation import TunedIsnetSegmenter
from backdrop.evaluation.scores import score

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO.parent / "shared" / "eval"
SETS = ("davis", "sod_bsds", "berkeley")
GEOMETRIES = (
    "stretch1024",
    "stretch768",
    "stretch896",
    "stretch960",
    "stretch1152",
    "aspect1024",
    "aspect768",
    "reflect1024",
    "replicate1024",
    "mirror1024",
)
BAND_RADIUS = 3  # the unknown band is 2 * 3 + 1 = 7 px wide


def input_shape(geometry: str, width: int, height: int) -> tuple[int, int]:
    """(height, width) of the model input for a photo of `width` x `height`."""
    if geometry.startswith("aspect"):
        scale = int(geometry.removeprefix("aspect")) / max(width, height)
        return _multiple_of_64(height * scale), _multiple_of_64(width * scale)
    if geometry.startswith("stretch"):
        side = int(geometry.removeprefix("stretch"))
        return side, side
    return 1024, 1024  # reflect, replicate, mirror


def _multiple_of_64(value: float) -> int:
    return max(64, round(value / 64) * 64)


def model_input(photo: Image.Image, geometry: str) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The NCHW batch (backdrop's tuned ISNet preprocessing) and the photo's margin (l,t,r,b)."""
    import cv2

    margin = (0, 0, 0, 0)
    if geometry == "mirror1024":
        photo = photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if geometry in ("reflect1024", "replicate1024"):
        mx, my = round(photo.width / 16), round(photo.height / 16)
        border = cv2.BORDER_REFLECT_101 if geometry == "reflect1024" else cv2.BORDER_REPLICATE
        padded = cv2.copyMakeBorder(np.asarray(photo), my, my, mx, mx, border)
        photo, margin = Image.fromarray(padded), (mx, my, mx, my)
    height, width = input_shape(geometry, photo.width, photo.height)
    return TunedIsnetSegmenter.input_batch(photo, (width, height)), margin


def prediction_for_photo(
    plane: np.ndarray, geometry: str, margin: tuple[int, int, int, int], size: tuple[int, int]
) -> np.ndarray:
    """The model's plane mapped back onto the photo's frame, at the model's resolution."""
    if geometry == "mirror1024":
        return np.ascontiguousarray(plane[:, ::-1])
    if any(margin):
        left, top, right, bottom = margin
        full = (size[0] + left + right, size[1] + top + bottom)
        enlarged = np.asarray(Image.fromarray(plane).resize(full, Image.Resampling.BILINEAR))
        return enlarged[top : top + size[1], left : left + size[0]]
    return plane


class Graphs:
    """The ONNX graph compiled by OpenVINO once per input shape, its upsampling rescaled."""

    def __init__(self, path: Path) -> None:
        import openvino as ov

        self._core, self._path = ov.Core(), path
        self._compiled: dict[tuple[int, ...], Any] = {}

    def run(self, batch: np.ndarray) -> np.ndarray:
        shape = batch.shape
        if shape not in self._compiled:
            compiled = self._core.compile_model(
                self._core.read_model(self._graph_for(shape[2], shape[3]), b""),
                "CPU",
                # Float layers in f32, as backdrop runs an int8 graph (engines/inference.py).
                {
                    "PERFORMANCE_HINT": "LATENCY",
                    "INFERENCE_NUM_THREADS": 2,
                    "NUM_STREAMS": 1,
                    "INFERENCE_PRECISION_HINT": "f32",
                },
            )
            self._compiled[shape] = (compiled, compiled.create_infer_request())
        compiled, request = self._compiled[shape]
        output = request.infer({0: batch})[compiled.outputs[0]]
        return np.asarray(output, np.float32).reshape(shape[2:])

    def _graph_for(self, height: int, width: int) -> bytes:
        import onnx

        from backdrop.engines.derive import scale_resize_targets

        model = onnx.load(str(self._path))
        scale_resize_targets(list(model.graph.node), height, width, 1024)
        for port in (*model.graph.input, *model.graph.output):
            dims = port.type.tensor_type.shape.dim
            dims[2].dim_value, dims[3].dim_value = height, width
        serialised: bytes = model.SerializeToString()
        return serialised


def cache_predictions(graph: Path, cache: Path, geometries: list[str]) -> dict[str, float]:
    """Run `graph` over every set for each geometry; seconds per image by geometry."""
    graphs = Graphs(graph)
    seconds: dict[str, float] = {}
    for geometry in geometries:
        spent, count = 0.0, 0
        for dataset in SETS:
            folder = cache / geometry / dataset
            folder.mkdir(parents=True, exist_ok=True)
            for path in sorted((EVAL / dataset / "images").iterdir()):
                target = folder / f"{path.stem}.npy"
                if target.exists():
                    continue
                photo = Image.open(path).convert("RGB")
                batch, margin = model_input(photo, geometry)
                started = time.perf_counter()
                plane = graphs.run(batch)
                spent, count = spent + time.perf_counter() - started, count + 1
                plane = prediction_for_photo(plane, geometry, margin, photo.size)
                np.save(target, plane.astype(np.float16))
        if count:
            seconds[geometry] = spent / count
        print(f"{geometry}: {count} images", flush=True)
    return seconds


def banded(truth: np.ndarray) -> np.ndarray:
    """`truth` with a 7 px unknown band (128) along the subject's edge (GrabCut-style)."""
    import cv2

    subject = (truth >= 128).astype(np.uint8)
    size = 2 * BAND_RADIUS + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    band = (cv2.dilate(subject, kernel) > 0) & (cv2.erode(subject, kernel) == 0)
    out = truth.copy()
    out[band] = 128
    return out


Combination = Callable[[Callable[[str], np.ndarray]], np.ndarray]
COMBINATIONS: dict[str, Combination] = {
    **{geometry: (lambda load, g=geometry: load(g)) for geometry in GEOMETRIES},  # type: ignore[misc]
    "mirror-avg": lambda load: (load("stretch1024") + load("mirror1024")) / 2,
    "two-scale": lambda load: (
        0.7 * load("stretch1024") + 0.3 * refine.resize(load("stretch1152"), (1024, 1024))
    ),
}
POST: dict[str, refine.RefineSettings] = {
    "default": refine.DEFAULT_REFINE,
    "raw": refine.RAW,
    "guided r4": refine.RefineSettings(
        guided_radius=4, contrast_low=0.4, contrast_high=0.6, speck_fraction=0.05
    ),
    "ramp 0.5-0.7": refine.RefineSettings(contrast_low=0.5, contrast_high=0.7, speck_fraction=0.05),
    "holes 1%": refine.RefineSettings(
        contrast_low=0.4, contrast_high=0.6, speck_fraction=0.05, hole_fraction=0.01
    ),
}


def score_one(job: tuple[Path, str, str, list[str], list[str]]) -> dict[str, list[float]]:
    cache, dataset, stem, combinations, posts = job
    photo = np.asarray(Image.open(EVAL / dataset / "images" / f"{stem}.jpg").convert("RGB"))
    truth = np.asarray(Image.open(EVAL / dataset / "masks" / f"{stem}.png").convert("L"))
    truth_banded = banded(truth)

    def load(geometry: str) -> np.ndarray:
        return np.load(cache / geometry / dataset / f"{stem}.npy").astype(np.float32)

    scores: dict[str, list[float]] = {}
    for combination in combinations:
        plane = COMBINATIONS[combination](load)
        for post in posts:
            alpha = refine.refine_alpha(plane, photo, POST[post])
            plain, band = score(alpha, truth), score(alpha, truth_banded)
            scores[f"{combination} | {post}"] = [
                plain.iou,
                plain.mae,
                plain.boundary_f,
                band.iou,
                band.mae,
                band.boundary_f,
            ]
    return scores


def score_all(cache: Path, rows: list[tuple[str, str]]) -> dict[str, dict[str, list[float]]]:
    """Mean scores per dataset for each (combination, post-processing) row."""
    combinations = sorted({c for c, _ in rows})
    posts = sorted({p for _, p in rows})
    means: dict[str, dict[str, list[float]]] = {}
    with Pool(2) as pool:
        for dataset in SETS:
            stems = sorted(p.stem for p in (EVAL / dataset / "masks").iterdir())
            jobs = [(cache, dataset, stem, combinations, posts) for stem in stems]
            results = pool.map(score_one, jobs)
            means[dataset] = {
                f"{c} | {p}": np.mean([r[f"{c} | {p}"] for r in results], axis=0).tolist()
                for c, p in rows
            }
    return means


# What is scored: every geometry with the default refinement, the two combinations, and the
# post-processing variants on the default geometry.
ROWS = [(geometry, "default") for geometry in GEOMETRIES] + [
    ("mirror-avg", "default"),
    ("two-scale", "default"),
    *[("stretch1024", post) for post in POST if post != "default"],
]


def border_scores(job: tuple[Path, str, str]) -> list[float]:
    """For one image: how much of the truth touches the border (any side, the bottom), then
    IoU / MAE / boundary F and the bottom tenth's IoU for stretch1024 and reflect1024."""
    cache, dataset, stem = job
    photo = np.asarray(Image.open(EVAL / dataset / "images" / f"{stem}.jpg").convert("RGB"))
    truth = np.asarray(Image.open(EVAL / dataset / "masks" / f"{stem}.png").convert("L"))
    subject = truth >= 128
    sides = (subject[0], subject[-1], subject[:, 0], subject[:, -1])
    row = [max(float(side.mean()) for side in sides), float(subject[-1].mean())]
    tenth = truth.shape[0] // 10
    for geometry in ("stretch1024", "reflect1024"):
        plane = np.load(cache / geometry / dataset / f"{stem}.npy").astype(np.float32)
        alpha = refine.refine_alpha(plane, photo, refine.DEFAULT_REFINE)
        scores = score(alpha, truth)
        bottom, true_bottom = alpha[-tenth:] >= 128, subject[-tenth:]
        union = max(int((bottom | true_bottom).sum()), 1)
        row += [scores.iou, scores.mae, scores.boundary_f, (bottom & true_bottom).sum() / union]
    return row


def border_subsets(cache: Path) -> dict[str, dict[str, Any]]:
    """Stretch vs mirrored margin on the images whose subject the border cuts (every set)."""
    jobs = [
        (cache, dataset, path.stem)
        for dataset in SETS
        for path in sorted((EVAL / dataset / "masks").iterdir())
    ]
    with Pool(2) as pool:
        rows = np.array(pool.map(border_scores, jobs))
    subsets = {
        "all": rows[:, 0] >= 0,
        "subject on 5%+ of a side": rows[:, 0] >= 0.05,
        "subject on 5%+ of the bottom": rows[:, 1] >= 0.05,
    }
    columns = ["IoU", "MAE", "boundary F", "bottom tenth IoU"]
    return {
        name: {
            "images": int(chosen.sum()),
            "stretch1024": dict(zip(columns, rows[chosen, 2:6].mean(axis=0).tolist(), strict=True)),
            "reflect1024": dict(
                zip(columns, rows[chosen, 6:10].mean(axis=0).tolist(), strict=True)
            ),
        }
        for name, chosen in subsets.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="scratch folder (large)")
    parser.add_argument(
        "--graph",
        type=Path,
        default=Path.home() / ".cache/backdrop/models/isnet-general-int8-nncf.onnx",
    )
    parser.add_argument("--score-only", action="store_true")
    parser.add_argument(
        "--geometries",
        help="comma-separated: run and score only these, with the default refinement "
        "(e.g. stretch1024,stretch896,stretch960)",
    )
    parser.add_argument("--results", type=Path, default=REPO / "bench/variants.json")
    args = parser.parse_args()
    geometries = args.geometries.split(",") if args.geometries else list(GEOMETRIES)
    unknown = set(geometries) - set(GEOMETRIES)
    if unknown:
        parser.error(f"unknown geometries: {', '.join(sorted(unknown))}")
    seconds = {} if args.score_only else cache_predictions(args.graph, args.cache, geometries)
    rows = [(g, "default") for g in geometries] if args.geometries else ROWS
    means = score_all(args.cache, rows)
    record = {
        "graph": args.graph.name,
        "model_seconds_per_image": seconds,
        "columns": ["IoU", "MAE", "boundary F", "banded IoU", "banded MAE", "banded boundary F"],
        "means": means,
        "machine": machine(),
    }
    if not args.geometries:
        record["subjects_cut_by_the_border"] = border_subsets(args.cache)
    args.results.write_text(json.dumps(record, indent=1) + "\n")
    for dataset, table in means.items():
        print(f"\n{dataset}: IoU MAE bF | banded IoU MAE bF")
        for row, values in table.items():
            print(f"  {row:28s} " + " ".join(f"{v:.4f}" for v in values))


if __name__ == "__main__":
    main()
