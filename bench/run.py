"""Benchmark backdrop against rembg and the bare model, on the same file, in one run.

    .bench-venv/bin/python bench/run.py            # see bench/README.md

Each contender runs in its own worker process (bench/worker.py) that loads its model once;
the driver hands every image to every worker in turn (rotating who goes first), so all timings
come from the same minutes of the same machine. Alphas are written outside the repository
and scored here with backdrop.evaluation.scores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backdrop.evaluation.scores import score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
# Contenders in table order (labels for people live in report.py).
VARIANTS = (
    "backdrop_best",
    "backdrop_int8",
    "backdrop_ort",
    "backdrop",
    "rembg",
    "rembg_ppm",
    "rembg_matting",
    "bare",
    "bare_flip",
)
PROCESS_OF = {
    "backdrop_best": "best",
    "backdrop_int8": "int8",
    "backdrop": "backdrop",
    "backdrop_ort": "backdrop_ort",
    "rembg": "rembg",
    "rembg_ppm": "rembg",
    "rembg_matting": "rembg",
    "bare": "bare",
    "bare_flip": "bare",
}


class Worker:
    def __init__(self, name: str, model: Path, env: dict[str, str]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "worker.py"), name, "--model", str(model)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.receive()  # ready

    def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {self.name} died")
        message: dict[str, Any] = json.loads(line)
        return message

    def run(self, image: Path, out: Path) -> dict[str, float]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"image": str(image), "out": str(out)}) + "\n")
        self.process.stdin.flush()
        times: dict[str, float] = self.receive()["times"]
        return times

    def finish(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.close()
        rss: float = self.receive()["maxrss_mb"]
        self.process.wait(timeout=60)
        return rss


def stems_of(dataset: Path, every: int) -> list[str]:
    listed = [
        line.strip()
        for line in (dataset / "FILES.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # FILES.txt of sod_bsds also lists dropped ids; keep those that have both files.
    present = [s for s in listed if (dataset / "masks" / f"{s}.png").is_file()]
    return sorted(present)[::every]


def add_dataset_args(parser: argparse.ArgumentParser) -> None:
    """The dev sets and the fixed subsets every bench script measures on."""
    parser.add_argument("--davis", type=Path, default=REPO / "../shared/eval/davis")
    parser.add_argument("--sod", type=Path, default=REPO / "../shared/eval/sod_bsds")
    # 70 BSDS photos with precisely traced single-object masks (its SOURCE.md): some masks
    # mark one object among several, so compare configurations on it, not absolute figures.
    parser.add_argument("--berkeley", type=Path, default=REPO / "../shared/eval/berkeley")
    parser.add_argument("--every-davis", type=int, default=7)
    parser.add_argument("--every-sod", type=int, default=8)
    parser.add_argument("--every-berkeley", type=int, default=3)  # 24 of 70


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_args(parser)
    parser.add_argument(
        "--model", type=Path, default=Path.home() / ".cache/backdrop/models/isnet-general.onnx"
    )
    parser.add_argument(
        "--with-ort", action="store_true", help="also run backdrop's default on onnxruntime"
    )
    parser.add_argument(
        "--with-int8", action="store_true", help="also run backdrop --quality fast (int8 file)"
    )
    parser.add_argument(
        "--with-best", action="store_true", help="also run backdrop --quality best (two scales)"
    )
    parser.add_argument(
        "--skip-rembg",
        action="store_true",
        help="leave rembg out (its alphas are deterministic: reuse an earlier run's scores)",
    )
    parser.add_argument(
        "--skip-flip",
        action="store_true",
        help="leave out bare + flip (deterministic like rembg: reuse an earlier run's scores)",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/backdrop-bench"))
    parser.add_argument("--results", type=Path, default=BENCH / "results.json")
    args = parser.parse_args()

    # rembg takes the model from U2NET_HOME/isnet-general-use.onnx when present.
    u2net = args.work / "u2net"
    u2net.mkdir(parents=True, exist_ok=True)
    link = u2net / "isnet-general-use.onnx"
    link.unlink(missing_ok=True)
    link.symlink_to(args.model.resolve())
    env = {**os.environ, "U2NET_HOME": str(u2net), "OMP_NUM_THREADS": "2"}
    if args.skip_flip:
        env["BENCH_SKIP_FLIP"] = "1"

    datasets = {
        "davis": (args.davis, stems_of(args.davis, args.every_davis)),
        "sod_bsds": (args.sod, stems_of(args.sod, args.every_sod)),
        "berkeley": (args.berkeley, stems_of(args.berkeley, args.every_berkeley)),
    }
    names = ["backdrop", "bare"] + ([] if args.skip_rembg else ["rembg"])
    names += ["backdrop_ort"] * args.with_ort + ["int8"] * args.with_int8
    names += ["best"] * args.with_best
    started = time.monotonic()
    workers = [Worker(n, args.model, env) for n in names]
    # Warm-up (first-run allocations, numba compilation in pymatting): not timed.
    first = args.davis / "images" / f"{datasets['davis'][1][0]}.jpg"
    for worker in workers:
        worker.run(first, args.work / "warmup")

    times: dict[str, dict[str, dict[str, float]]] = {}
    turn = 0
    for set_name, (root, stems) in datasets.items():
        times[set_name] = {}
        for i, stem in enumerate(stems):
            image = next((root / "images").glob(f"{stem}.*"))
            row: dict[str, float] = {}
            order = workers[turn % len(workers) :] + workers[: turn % len(workers)]
            turn += 1
            for worker in order:
                row.update(worker.run(image, args.work / set_name))
            times[set_name][stem] = row
            print(
                f"{set_name} {i + 1}/{len(stems)} {stem} "
                + " ".join(f"{k}={v:.2f}" for k, v in row.items()),
                flush=True,
            )
    rss = {worker.name: worker.finish() for worker in workers}
    wall = time.monotonic() - started

    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, 2 onnxruntime threads",
        "cpu": machine(),
        "wall_seconds": round(wall),
        "peak_rss_mb": rss,
        "sets": {},
    }
    for set_name, (root, stems) in datasets.items():
        per_variant: dict[str, Any] = {}
        variants = [v for v in VARIANTS if PROCESS_OF[v] in names]
        if args.skip_flip:
            variants.remove("bare_flip")
        bare_mean = statistics.fmean(times[set_name][s]["bare"] for s in stems)
        for variant in variants:
            scores = []
            for stem in stems:
                alpha = np.asarray(Image.open(args.work / set_name / variant / f"{stem}.png"))
                truth = np.asarray(Image.open(root / "masks" / f"{stem}.png").convert("L"))
                scores.append(score(alpha, truth))
            seconds = [times[set_name][s][variant] for s in stems]
            per_variant[variant] = {
                "iou": statistics.fmean(s.iou for s in scores),
                "mae": statistics.fmean(s.mae for s in scores),
                "boundary_f": statistics.fmean(s.boundary_f for s in scores),
                "mean_seconds": statistics.fmean(seconds),
                "time_ratio": statistics.fmean(seconds) / bare_mean,
                "per_image": {
                    stem: {"iou": s.iou, "mae": s.mae, "boundary_f": s.boundary_f, "seconds": t}
                    for stem, s, t in zip(stems, scores, seconds, strict=True)
                },
            }
        results["sets"][set_name] = {"count": len(stems), "stems": stems, "variants": per_variant}
    args.results.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {args.results} in {wall:.0f} s")


if __name__ == "__main__":
    main()
