"""Where a worker's time goes per 1 MP order: the model call vs the CPU work around it.

    PYTHONPATH=src:. .venv/bin/python bench/worker_stages.py [--runs 5]

Times, on one order's 1152x864 JPEG: decode; the default model's `predict` (resize to 1024²,
inference, alpha back to full size, refinement); and the rest of remove-background (foreground
colours, compose, PNG encode of output and mask). On a GPU the model call shrinks ~100x
(bench/CLUSTER.md); the rest stays CPU work, which is why a GPU worker must spread it over
processes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from backdrop.engines import pipeline
from backdrop.engines.inference import model_threads
from backdrop.engines.placement import create_segmenter
from backdrop.imaging.decode import load_image
from backdrop.imaging.output import OutputOptions, render
from backdrop.settings import Settings
from bench.cluster import cpu
from tests.conftest import jpeg_bytes, subject_photo


def timed(step: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    segmenter = create_segmenter(
        settings.segmentation_model, models_dir=settings.models_dir, inference=settings.inference
    )
    data = jpeg_bytes(subject_photo(1152, 864)[0])
    decode_ms, image = timed(lambda: load_image(data, max_pixels=40_000_000), args.runs)
    segmenter.predict(image)  # load and warm up
    model_ms, alpha = timed(lambda: segmenter.predict(image), args.runs)

    class Known:
        """The alpha just computed, so the rest is timed without the model."""

        model_id = segmenter.model_id

        def predict(self, _: Any) -> Any:
            return alpha

    def rest() -> None:
        cutout = pipeline.remove_background(image, Known(), pipeline.Transparent())
        render(cutout.output, cutout.mask, OutputOptions())

    rest_ms, _ = timed(rest, args.runs)
    print(
        json.dumps(
            {
                "cpu": cpu(),
                "threads": model_threads(settings.inference),
                "decode_ms": round(decode_ms, 1),
                "model_predict_ms": round(model_ms, 1),
                "compose_encode_ms": round(rest_ms, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
