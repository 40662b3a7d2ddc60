"""Tables (Markdown, on stdout) and the quality/speed plot from bench/results.json.

.bench-venv/bin/python bench/report.py > /tmp/tables.md

A run made with `run.py --skip-rembg` lacks the rembg rows; they are taken from
`results_anchors.json` (an earlier run on the same subset and model file: rembg's and the bare
model's alphas are deterministic, so their scores are the same; their time ratios are that
run's, marked with *). Peak RSS of a row from there is that run's too.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from run import PROCESS_OF

BENCH = Path(__file__).resolve().parent
LABELS = {
    "backdrop_best": "backdrop --quality best (two scales, OpenVINO bf16)",
    "backdrop_int8": "backdrop --quality fast (int8 file, OpenVINO)",
    "backdrop_ort": "backdrop default on onnxruntime (fp32 file + refinement)",
    "backdrop": "backdrop default (fp32 file, OpenVINO bf16, refinement)",
    "rembg": "rembg plain",
    "rembg_ppm": "rembg post_process_mask",
    "rembg_matting": "rembg alpha_matting",
    "bare": "bare model",
    "bare_flip": "bare model + flip TTA",
}


def merge_anchors(results: dict[str, Any], anchors: dict[str, Any]) -> None:
    """Add the variants `results` lacks from `anchors` (same subset), marked as borrowed."""
    for set_name, data in results["sets"].items():
        earlier = anchors["sets"][set_name]
        if earlier["stems"] != data["stems"]:
            raise SystemExit(f"{set_name}: anchors were scored on other images")
        for variant, v in earlier["variants"].items():
            if variant not in data["variants"]:
                data["variants"][variant] = {**v, "borrowed": True}
    for process, rss in anchors["peak_rss_mb"].items():
        results["peak_rss_mb"].setdefault(process, rss)


def tables(results: dict[str, Any]) -> str:
    rss = results["peak_rss_mb"]
    lines = []
    for set_name, data in results["sets"].items():
        lines += [
            f"### {set_name} ({data['count']} images)",
            "",
            "| contender | IoU | MAE | boundary F (3 px) | s/image | time ÷ bare | peak RSS |",
            "|---|---|---|---|---|---|---|",
        ]
        for variant, v in data["variants"].items():
            process = PROCESS_OF[variant]
            mark = "*" if v.get("borrowed") else ""
            lines.append(
                f"| {LABELS[variant]} | {v['iou']:.4f} | {v['mae']:.4f} | {v['boundary_f']:.4f} "
                f"| {v['mean_seconds']:.2f}{mark} | {v['time_ratio']:.2f}{mark} "
                f"| {rss[process]:.0f} MB{mark} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["sets"])
    fig, axes = plt.subplots(1, len(sets), figsize=(7 * len(sets), 7))
    for ax, set_name in zip(axes, sets, strict=True):
        for variant, v in results["sets"][set_name]["variants"].items():
            # A legend, not labels by the points: several contenders sit close together.
            label = f"{LABELS[variant]} (IoU {v['iou']:.3f})"
            ax.scatter(v["time_ratio"], v["boundary_f"], s=40, label=label)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
        ax.set_title(f"{set_name} ({results['sets'][set_name]['count']} images)")
        ax.set_xlabel("time per image ÷ bare model call")
        ax.set_ylabel("boundary F (3 px)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results.json"
    results = json.loads(path.read_text())
    anchors = BENCH / "results_anchors.json"
    if anchors.is_file():
        merge_anchors(results, json.loads(anchors.read_text()))
    print(tables(results))
    plot(results, BENCH / "quality_speed.png")


if __name__ == "__main__":
    main()
