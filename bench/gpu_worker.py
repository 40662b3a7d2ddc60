"""The batching worker measured: model-only images/s per batch size, and end-to-end orders/s.

    # CPU, tiny test-made model (the path, not the model): 1 and 2 pipeline processes
    PYTHONPATH=src:. .venv/bin/python bench/gpu_worker.py --tiny --orders 120 \
        --out bench/gpu_worker_cpu.json
    # GPU (bench/GPU.md): model-only at batch 1/4/8/16, then 1 MP orders at batch 8 vs 1
    PYTHONPATH=src:. .venv/bin/python bench/gpu_worker.py --gpu --orders 2000 \
        --out bench/gpu_worker_h100.json

End to end is the worker's own path in this process (orders/batch_runner.py: claim, read,
prepare in the stage processes, one model call per batch, finish in the stage processes,
store, complete) on SQLite and local files, fed by as many threads as `backdrop worker`
runs; the broker is left out (one message per order, measured in bench/CLUSTER.md). The GPU
run needs onnxruntime-gpu (and onnxconverter-common for fp16 without TensorRT) and the
default model's files in BACKDROP_MODELS_DIR (`backdrop models fetch`).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import REGISTRY

from backdrop.engines.batch_model import BatchModel, Recipe
from backdrop.engines.cpu import usable_cores
from backdrop.engines.placement import create_segmenter
from backdrop.engines.segmentation import OnnxSegmenter
from backdrop.settings import InferenceSettings, Settings
from bench.cluster import cpu
from tests.conftest import jpeg_bytes, subject_photo
from tests.orders.batch_harness import harness, tiny_settings

STAGES = ("prepare", "model", "finish")


def _stage_totals() -> dict[str, tuple[float, float]]:
    totals = {}
    for stage in STAGES:
        total = REGISTRY.get_sample_value("backdrop_stage_seconds_sum", {"stage": stage}) or 0.0
        count = REGISTRY.get_sample_value("backdrop_stage_seconds_count", {"stage": stage}) or 0.0
        totals[stage] = (total, count)
    return totals


def end_to_end(
    settings: Settings, photo: bytes, orders: int, batch: int, processes: int, cuda: bool
) -> dict[str, Any]:
    with harness(
        settings, batch=batch, max_wait_ms=5, processes=processes, credits=orders, cuda=cuda
    ) as rig:
        warm = [rig.order(photo) for _ in range(max(2 * batch, 4))]
        rig.run_all(warm)
        ids = [rig.order(photo) for _ in range(orders)]
        before = _stage_totals()
        started = time.perf_counter()
        ended = rig.run_all(ids)
        seconds = time.perf_counter() - started
        after = _stage_totals()
        active = sum(rig.row(order_id).status == "active" for order_id in ids)
        placement = rig.runner.placement.describe(batch)
    stages = {}
    for stage in STAGES:
        total = after[stage][0] - before[stage][0]
        count = after[stage][1] - before[stage][1]
        stages[f"{stage}_ms"] = round(1000 * total / count, 2) if count else None
    return {
        "placement": placement,
        "batch": batch,
        "processes": processes,
        "orders": orders,
        "ended": sum(ended),
        "active": active,
        "seconds": round(seconds, 2),
        "orders_per_s": round(orders / seconds, 2),
        **stages,
    }


def model_only(settings: Settings, batches: list[int], seconds: float) -> list[dict[str, Any]]:
    segmenter = create_segmenter(
        settings.segmentation_model, models_dir=settings.models_dir, inference=settings.inference
    )
    assert isinstance(segmenter, OnnxSegmenter) and segmenter.model_path is not None
    recipe = Recipe.of(segmenter)
    model = BatchModel.open(segmenter.model_path, recipe, settings.inference, cuda=True)
    width, height = recipe.input_size
    rows = []
    for batch in batches:
        pictures = [
            np.random.default_rng(i).integers(0, 255, (height, width, 3), np.uint8)
            for i in range(batch)
        ]
        scales = [1.0] * batch
        for _ in range(3):  # warm-up (TensorRT builds its engine for this shape here)
            model.predict(pictures, scales)
        runs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            model.predict(pictures, scales)
            runs += 1
        elapsed = time.perf_counter() - started
        rows.append(
            {
                "placement": model.placement.describe(batch),
                "batch": batch,
                "images_per_s": round(runs * batch / elapsed, 1),
                "ms_per_batch": round(1000 * elapsed / runs, 2),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--tiny", action="store_true", help="CPU, tiny test-made model")
    mode.add_argument("--gpu", action="store_true", help="the default model on CUDA")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"cpu": cpu(), "load": os.getloadavg(), "cores": usable_cores()}
    if args.tiny:
        root = Path(tempfile.mkdtemp(prefix="gpu-worker-"))
        photo = jpeg_bytes(subject_photo(1152, 864)[0])
        runs = []
        for processes in (1, 2):
            settings = tiny_settings(root / f"p{processes}")
            runs.append(end_to_end(settings, photo, args.orders, args.batch, processes, False))
            print(json.dumps(runs[-1]), flush=True)
        report["tiny_1mp"] = runs
    else:
        settings = Settings(
            data_dir=Path(tempfile.mkdtemp(prefix="gpu-worker-")),
            public_url=None,
            database_url=None,
            inference=InferenceSettings(device="cuda"),
        )
        report["model_only"] = model_only(settings, [1, 4, 8, 16], seconds=10)
        photo = jpeg_bytes(subject_photo(1152, 864)[0])
        processes = max(1, usable_cores() - 1)
        runs = []
        for batch in (1, args.batch):
            runs.append(end_to_end(settings, photo, args.orders, batch, processes, True))
            print(json.dumps(runs[-1]), flush=True)
        report["end_to_end_1mp"] = runs
    report["load_after"] = os.getloadavg()
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
