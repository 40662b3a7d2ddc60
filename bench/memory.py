"""Peak and after-order RSS of one remove-background order, each in a fresh process.

    .venv/bin/python bench/memory.py                        # this checkout
    .venv/bin/python bench/memory.py --baseline-src DIR     # also an older `src/` (same run)

For 1, 10 and 40 MP images, photo-like (a sample photo of scikit-image enlarged, as JPEG) and
one-colour (as PNG, a few hundred KB at 40 MP), a child process loads the default engine,
runs it once on a 1024² image (warm-up), then runs one order as a worker does: decode
(`load_image`), `pipeline.remove_background` onto transparency, `render` to PNG, in a worker
thread (the in-process pool's threads each get a malloc arena). It reports RSS after
loading, the order's peak (VmHWM), RSS after the order, and after `malloc_trim(0)`.
"bare model" is the same process running only the model on a 1024² input: the floor.

`--baseline-src` runs the same children with that `src/` first on the path, so the old code
and the new are measured on the same machine in one run (e.g. `git archive <old> src | tar -x
-C /tmp/old`). Writes bench/memory.json; bench/MEMORY.md reads it.
"""

from __future__ import annotations

import argparse
import ctypes
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
SIZES_MP = (1, 10, 40)
KINDS = ("photo", "flat")


def _rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Restart VmHWM from the current RSS (Linux >= 4.0: write 5 to clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def _image_bytes(kind: str, megapixels: float) -> bytes:
    """The order's upload: a 4:3 photo-like JPEG or a one-colour PNG of `megapixels`."""
    import numpy as np
    from PIL import Image

    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(width * 3 / 4)
    buffer = io.BytesIO()
    if kind == "flat":
        Image.new("RGB", (width, height), (200, 30, 40)).save(buffer, "PNG")
    else:
        import skimage.data

        photo = Image.fromarray(np.asarray(skimage.data.chelsea()))
        photo.resize((width, height), Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def child(kind: str, megapixels: float) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from PIL import Image

    from backdrop.engines import pipeline
    from backdrop.engines.placement import create_segmenter
    from backdrop.imaging.decode import load_image
    from backdrop.imaging.output import OutputOptions, render

    models = Path(os.environ.get("BACKDROP_MODELS", Path.home() / ".cache/backdrop/models"))
    segmenter = create_segmenter("isnet-general", models_dir=models)
    segmenter.load()
    started = _rss_mb()
    _reset_peak()
    segmenter.predict(Image.new("RGB", (1024, 1024), (120, 130, 140)))
    result: dict[str, Any] = {"rss_loaded_mb": started, "peak_bare_model_mb": _rss_mb("VmHWM")}
    if kind == "bare":
        return result
    data = _image_bytes(kind, megapixels)
    result["input_bytes"] = len(data)
    loaded = _rss_mb()
    _reset_peak()

    def order() -> None:
        image = load_image(data, max_pixels=100_000_000)
        result["size"] = list(image.size)
        cutout = pipeline.remove_background(image, segmenter, pipeline.Transparent())
        rendered = render(cutout.output, cutout.mask, OutputOptions())
        result["output_bytes"] = len(rendered.output)

    worker = threading.Thread(target=order)
    worker.start()
    worker.join()
    result["rss_before_order_mb"] = loaded
    result["peak_order_mb"] = _rss_mb("VmHWM")
    result["rss_after_order_mb"] = _rss_mb()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    result["rss_after_trim_mb"] = _rss_mb()
    return result


def measure(src: Path, kind: str, megapixels: float, env: dict[str, str]) -> dict[str, Any]:
    """`child` in a fresh interpreter with `src` first on the path."""
    command = [sys.executable, __file__, "--child", kind, str(megapixels)]
    environment = {**os.environ, **env, "PYTHONPATH": str(src)}
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} {megapixels} MP failed:\n{done.stderr[-3000:]}")
    row: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "MP"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline-src", type=Path, help="an older checkout's src/ to compare")
    parser.add_argument("--sizes", type=float, nargs="+", default=list(SIZES_MP))
    parser.add_argument("--output", type=Path, default=BENCH / "memory.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], float(args.child[1]))))
        return
    sys.path.insert(0, str(REPO / "src"))
    from machine import machine

    codes = {"new": REPO / "src"}
    if args.baseline_src:
        codes = {"old": args.baseline_src.resolve(), **codes}
    runs: list[dict[str, Any]] = []
    cases = [("bare", 0.0)] + [(kind, mp) for mp in args.sizes for kind in KINDS]
    for code, src in codes.items():
        for kind, mp in cases:
            row = {"code": code, "kind": kind, "megapixels": mp, **measure(src, kind, mp, {})}
            print(json.dumps(row), flush=True)
            runs.append(row)
    # Fewer malloc arenas, the operator's other knob: the new code, the largest flat image.
    for arenas in ("2",):
        mp = max(args.sizes)
        row = {"code": "new", "kind": "flat", "megapixels": mp, "malloc_arena_max": arenas}
        row.update(measure(codes["new"], "flat", mp, {"MALLOC_ARENA_MAX": arenas}))
        print(json.dumps(row), flush=True)
        runs.append(row)
    args.output.write_text(json.dumps({"machine": machine(), "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
