"""PNG encoding of results: zlib level and strategy, time and size, against Pillow's default.

    PYTHONPATH=src .venv/bin/python bench/png_encode.py

On the scikit-image sample photos the int8 calibration uses (no evaluation image), each cut
out by the default model: the 1 MP enlargement of the first and the others at their own
size. For each, the cutout (RGBA), its mask (L) and the subject on white (RGB) are encoded
with Pillow's default (level 6), with level 2 and zlib's default strategy (the earlier
setting), and with what `compose.encode_png` does now. Times are medians of 7 encodes;
results, with the machine (bench/machine.py), go to `--results`.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

from backdrop.engines.placement import create_segmenter
from backdrop.engines.quantize import calibration_photos
from backdrop.imaging import compose
from backdrop.settings import Settings

REPO = Path(__file__).resolve().parent.parent
SETTINGS: dict[str, dict[str, int]] = {
    "pillow default (level 6)": {},
    "level 2, default strategy": {"compress_level": 2, "compress_type": zlib.Z_DEFAULT_STRATEGY},
    "backdrop (encode_png)": {
        "compress_level": compose.PNG_COMPRESS_LEVEL,
        "compress_type": compose.PNG_COMPRESS_TYPE,
    },
}


def encode(image: Image.Image, options: dict[str, int]) -> tuple[float, int]:
    """(median milliseconds, bytes) of encoding `image` as PNG with `options`."""
    times, size = [], 0
    for _ in range(7):
        buffer = io.BytesIO()
        started = time.perf_counter()
        image.save(buffer, format="PNG", **options)
        times.append(time.perf_counter() - started)
        size = len(buffer.getvalue())
    return statistics.median(times) * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=REPO / "bench/png_encode.json")
    args = parser.parse_args()
    settings = Settings()
    segmenter = create_segmenter(
        settings.segmentation_model, models_dir=settings.models_dir, inference=settings.inference
    )
    photos = calibration_photos()[:4]
    photos[0] = photos[0].resize((1000, 1000), Image.Resampling.BICUBIC)
    rows: list[dict[str, Any]] = []
    for photo in photos:
        alpha = segmenter.predict(photo)
        foreground = compose.estimate_foreground(photo, alpha)
        images = {
            "cutout": compose.cutout(foreground, alpha),
            "mask": compose.mask_image(alpha),
            "on white": compose.on_color(foreground, alpha, (255, 255, 255, 255)),
        }
        for kind, image in images.items():
            for name, options in SETTINGS.items():
                ms, size = encode(image, options)
                rows.append(
                    {
                        "size": f"{photo.width}x{photo.height}",
                        "image": kind,
                        "setting": name,
                        "ms": round(ms, 1),
                        "kb": round(size / 1000, 1),
                    }
                )
                print(json.dumps(rows[-1]))
    record = {"rows": rows, "machine": machine()}
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
