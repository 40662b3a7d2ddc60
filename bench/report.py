"""Tables (Markdown, on stdout) and the quality/speed plot from bench/results.json.

.bench-venv/bin/python bench/report.py > /tmp/tables.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
LABELS = {
    "backdrop": "backdrop (default)",
    "backdrop_fp32": "backdrop, fp32 output-only file",
    "rembg": "rembg plain",
    "rembg_ppm": "rembg post_process_mask",
    "rembg_matting": "rembg alpha_matting",
    "bare": "bare model",
    "bare_flip": "bare model + flip TTA",
}
PROCESS_OF = {"backdrop": "backdrop", "backdrop_fp32": "fp32", "bare": "bare", "bare_flip": "bare"}


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
            process = PROCESS_OF.get(variant, "rembg")
            lines.append(
                f"| {LABELS[variant]} | {v['iou']:.3f} | {v['mae']:.4f} | {v['boundary_f']:.3f} "
                f"| {v['mean_seconds']:.2f} | {v['time_ratio']:.2f} | {rss[process]:.0f} MB |"
            )
        lines.append("")
    return "\n".join(lines)


def plot(results: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = list(results["sets"])
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5))
    for ax, set_name in zip(axes, sets, strict=True):
        for variant, v in results["sets"][set_name]["variants"].items():
            ax.scatter(v["time_ratio"], v["boundary_f"], s=40)
            ax.annotate(
                f"{LABELS[variant]}\nIoU {v['iou']:.3f}",
                (v["time_ratio"], v["boundary_f"]),
                fontsize=7,
                # backdrop and the bare model often coincide: put one label below.
                xytext=(4, -18) if variant == "bare" else (4, 4),
                textcoords="offset points",
            )
        ax.set_title(f"{set_name} ({results['sets'][set_name]['count']} images)")
        ax.set_xlabel("time per image ÷ bare model call")
        ax.set_ylabel("boundary F (3 px)")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "results.json"
    results = json.loads(path.read_text())
    print(tables(results))
    plot(results, BENCH / "quality_speed.png")


if __name__ == "__main__":
    main()
