"""Quality on the whole dev sets, against the anchors the issue states for them.

    .venv/bin/python bench/full_sets.py                 # ~20 min on 2 cores; see bench/README.md

Runs `backdrop eval` (the remove pipeline exactly as users run it) for each model over every
image of `davis`, `sod_bsds` and `berkeley`, writes the means to `bench/results_full.json`
and prints a table next to rembg's scores on the same sets with the same weights, as the
issue gives them (rembg is not re-run here: bench/run.py measures it on the subsets; the
issue gives none for `berkeley`, whose figures are for comparing configurations).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import REPO, add_dataset_args

# The anchors on the full dev sets (rembg, same ISNet file): IoU, MAE, boundary F.
ANCHORS: dict[str, dict[str, tuple[float, float, float]]] = {
    "davis": {
        "rembg plain": (0.787, 0.0281, 0.735),
        "rembg post_process_mask": (0.783, 0.0243, 0.719),
    },
    "sod_bsds": {"rembg plain": (0.638, 0.1131, 0.577)},
}


def evaluate(model: str, images: Path, masks: Path) -> dict[str, Any]:
    """`backdrop eval`'s JSON report for one model on one set."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "scores.json"
        command = [str(REPO / ".venv/bin/backdrop"), "eval", "--images", str(images)]
        command += ["--masks", str(masks), "--model", model, "--json", str(out)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        report: dict[str, Any] = json.loads(out.read_text())
        return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dataset_args(parser)
    parser.add_argument(
        "--models", nargs="+", default=["isnet-general", "isnet-general-multiscale"]
    )
    parser.add_argument("--results", type=Path, default=REPO / "bench/results_full.json")
    args = parser.parse_args()

    results: dict[str, dict[str, Any]] = {}
    sets = (("davis", args.davis), ("sod_bsds", args.sod), ("berkeley", args.berkeley))
    for set_name, root in sets:
        results[set_name] = {}
        for model in args.models:
            report = evaluate(model, root / "images", root / "masks")
            mean = report["mean"]
            results[set_name][model] = {"count": report["count"], **mean}
            print(set_name, model, json.dumps(results[set_name][model]), flush=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n")

    for set_name, rows in results.items():
        print(f"\n### {set_name} (all {next(iter(rows.values()))['count']} images)\n")
        print("| contender | IoU | MAE | boundary F (3 px) |\n|---|---|---|---|")
        for model, v in rows.items():
            scores = f"{v['iou']:.4f} | {v['mae']:.4f} | {v['boundary_f']:.4f}"
            print(f"| backdrop `{model}` | {scores} |")
        for name, (iou, mae, bf) in ANCHORS.get(set_name, {}).items():
            print(f"| {name} (the issue's figure) | {iou:.3f} | {mae:.4f} | {bf:.3f} |")


if __name__ == "__main__":
    main()
