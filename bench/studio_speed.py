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
# Everything in STUDIO.md from this line on is written by hand and kept across runs.
NOTES_MARKER = "<!-- notes: kept by studio_speed.py -->"


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
        f"the {len(timings)} prompts of `../shared/prompts/dev.txt` and `dev-2.txt`, 2 CPU cores",
        "(affinity) and 2 BLAS threads,",
        f"after one warm-up render per prompt; {REPEATS} timed renders each. Segmentation is not",
        "included.",
        "",
        f"- median: **{median * 1000:.0f} ms**",
        f"- 90th percentile: {statistics.quantiles(every, n=10)[-1] * 1000:.0f} ms",
        f"- slowest prompt (median): {statistics.median(timings[slowest]) * 1000:.0f} ms"
        f" — {slowest!r}",
        f"- machine load while measured (1-min load average): {os.getloadavg()[0]:.1f}",
        f"- CPU: {_cpu_model()}",
        "",
        "| prompt | median ms |",
        "|---|---:|",
        *(f"| {p} | {statistics.median(t) * 1000:.0f} |" for p, t in timings.items()),
        "",
    ]
    old = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
    notes = old[old.index(NOTES_MARKER) :] if NOTES_MARKER in old else NOTES_MARKER + "\n"
    OUT.write_text("\n".join(lines) + "\n" + notes, encoding="utf-8")
    print(f"median {median * 1000:.0f} ms; written {OUT}")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
