"""Time the studio engine at 1024x1024 on 2 threads; writes bench/STUDIO.md.

    .venv/bin/python bench/studio_speed.py

Each dev prompt is rendered once to warm up (the prompt's embedding is cached per process,
as in a worker), then timed `REPEATS` times; the median of all timings is reported.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from studio_contact_sheet import prompts
from studio_subject import bottle_photo

from backdrop.engines.generation import GenerationRequest
from backdrop.engines.studio import StudioGenerator

REPEATS = 2
OUT = Path(__file__).resolve().parent / "STUDIO.md"


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cores)
    image, alpha = bottle_photo(1024, 1024)
    generator = StudioGenerator()
    timings: dict[str, list[float]] = {}
    for prompt in prompts():
        generator.generate(GenerationRequest(image, alpha, prompt, seed=1))
        for repeat in range(REPEATS):
            started = time.perf_counter()
            generator.generate(GenerationRequest(image, alpha, prompt, seed=2 + repeat))
            timings.setdefault(prompt, []).append(time.perf_counter() - started)
    every = [t for values in timings.values() for t in values]
    median = statistics.median(every)
    slowest = max(timings, key=lambda p: statistics.median(timings[p]))
    lines = [
        "# Studio engine speed",
        "",
        "`bench/studio_speed.py`: 1024x1024 input (a test-made bottle photo with its matte),",
        "the 30 prompts of `../shared/prompts/dev.txt`, 2 CPU cores (affinity) and 2 BLAS threads,",
        f"after one warm-up render per prompt; {REPEATS} timed renders each. Segmentation is not",
        "included.",
        "",
        f"- median: **{median * 1000:.0f} ms**",
        f"- 90th percentile: {statistics.quantiles(every, n=10)[-1] * 1000:.0f} ms",
        f"- slowest prompt (median): {statistics.median(timings[slowest]) * 1000:.0f} ms"
        f" — {slowest!r}",
        f"- machine load while measured (1-min load average): {os.getloadavg()[0]:.1f}",
        "",
        "| prompt | median ms |",
        "|---|---:|",
        *(f"| {p} | {statistics.median(t) * 1000:.0f} |" for p, t in timings.items()),
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"median {median * 1000:.0f} ms; written {OUT}")


if __name__ == "__main__":
    main()
