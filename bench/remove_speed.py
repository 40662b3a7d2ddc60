"""`backdrop remove` over a folder, process start included, against the bare model's run time.

    .venv/bin/python bench/remove_speed.py                # default model; see bench/README.md

For each dev subset (the same stems as bench/run.py), in one run on the same machine:
1. the bare shipped model (plain InferenceSession, 2 threads): the sum of `session.run` times
   over the images — inference alone, no decoding, resizing or start-up — measured just
   before and just after step 2 and averaged;
2. `backdrop remove FOLDER -o OUT --model M` as a fresh process: its wall time from launch to
   exit (interpreter start, imports, model load, decode, segment, refine, compose, encode,
   write) and its peak RSS (GNU time's %M).
The ratio 2 ÷ 1 is the issue's speed target (≤ 0.5). Images are linked from the eval folders
into a scratch folder outside the repository, never copied into it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine
from run import REPO, add_dataset_args, stems_of


def bare_seconds(model: Path, images: list[Path]) -> float:
    """Sum of `session.run` seconds of the bare shipped model over `images`."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    total = 0.0
    for path in images:
        rgb = Image.open(path).convert("RGB").resize((1024, 1024), Image.Resampling.BILINEAR)
        batch = ((np.asarray(rgb, np.float32) - 128) / 256).transpose(2, 0, 1)[None]
        batch = np.ascontiguousarray(batch)
        start = time.perf_counter()
        session.run(["output"], {"input": batch})
        total += time.perf_counter() - start
    return total


def remove_run(folder: Path, out: Path, model: str, extra: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one `backdrop remove` process over `folder`."""
    shutil.rmtree(out, ignore_errors=True)
    # GNU time reports the peak RSS of its own child. RUSAGE_CHILDREN here would not do: a
    # child forked from this process counts this process's pages (the bare model's 2 GB)
    # until it execs.
    # The `backdrop` of the venv running this script (the repository's .venv with make).
    backdrop = Path(sys.executable).parent / "backdrop"
    command = ["/usr/bin/time", "-f", "maxrss_kb=%M", str(backdrop)]
    command += ["remove", str(folder), "-o", str(out), "--model", model, *extra]
    start = time.perf_counter()
    done = subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    wall = time.perf_counter() - start
    # What `remove` printed about its runtime choice (stderr or stdout: rich's console).
    print(
        "\n".join(
            line for line in done.stderr.splitlines() if "segmentation" in line or "why" in line
        )
    )
    reported = [line for line in done.stderr.splitlines() if line.startswith("maxrss_kb=")]
    return wall, int(reported[-1].split("=")[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_args(parser)
    parser.add_argument(
        "--bare-model", type=Path, default=Path.home() / ".cache/backdrop/models/isnet-general.onnx"
    )
    parser.add_argument("--model", default="isnet-general", help="model id for remove")
    parser.add_argument("--work", type=Path, default=Path("/tmp/backdrop-bench/remove"))
    parser.add_argument("--results", type=Path, default=REPO / "bench/remove_speed.json")
    parser.add_argument("remove_args", nargs="*", help="more `backdrop remove` options")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    sets = {"davis": (args.davis, args.every_davis), "sod_bsds": (args.sod, args.every_sod)}
    for name, (root, every) in sets.items():
        folder = args.work / "in" / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        images = []
        for stem in stems_of(root, every):
            source = next((root / "images").glob(f"{stem}.*"))
            (folder / source.name).symlink_to(source.resolve())
            images.append(folder / source.name)
        # The bare model runs just before and just after, so a slow minute on a shared
        # machine weighs on both sides of the ratio.
        before = bare_seconds(args.bare_model, images)
        wall, rss = remove_run(folder, args.work / "out" / name, args.model, args.remove_args)
        after = bare_seconds(args.bare_model, images)
        bare = (before + after) / 2
        results[name] = {
            "images": len(images),
            "bare_run_seconds": bare,
            "bare_run_seconds_before_after": [before, after],
            "remove_wall_seconds": wall,
            "ratio": wall / bare,
            "remove_peak_rss_mb": rss,
        }
        print(name, json.dumps(results[name]), flush=True)
    os.makedirs(args.results.parent, exist_ok=True)
    record = {"model": args.model, "args": args.remove_args, "machine": machine(), "sets": results}
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
