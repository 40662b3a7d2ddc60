"""A 1 MP remove-background order through the API: seconds from creation to `active`.

    .venv/bin/python bench/api_latency.py --repeat 7        # idle server, one order at a time

The real app in this process (`build_node` + `create_app`, its worker pool, SQLite in a
scratch folder, the configured default model) behind an in-process HTTP client. For each
order: upload a 1 MP JPEG (a sample photo that scikit-image ships, enlarged: no evaluation
image), create the order, then poll its status every 250 ms until it is `active`. The figure
is the order row's own `finished_at - created_at` (the server's clock: exact whatever the
polling step; a 20 ms poll would itself take a share of a 2-core CPU from the model), and
the client's view (create call returning to the `active` answer) is recorded beside it.
One warm-up order is not counted (model compile). Before each order the bare shipped model
(onnxruntime, 2 threads) runs once on the same photo, so the p50 can be read as a multiple
of the bare model's time on this machine (absolute seconds vary with the CPU and its load).
Results, with the machine (bench/machine.py), go to `--results`.
"""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

from backdrop.api.app import create_app
from backdrop.engines.quantize import calibration_photos
from backdrop.serving.node import build_node
from backdrop.settings import RateLimitSettings, Settings

REPO = Path(__file__).resolve().parent.parent


def photo_1mp() -> bytes:
    """skimage's astronaut enlarged to 1000x1000 (1 MP), as JPEG."""
    image = calibration_photos()[0].resize((1000, 1000), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def bare_model(photo: bytes) -> Callable[[], float]:
    """One timed `session.run` of the bare shipped model on `photo` (as remove_speed.py)."""
    import numpy as np
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    model = Path.home() / ".cache/backdrop/models/isnet-general.onnx"
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    rgb = Image.open(io.BytesIO(photo)).convert("RGB").resize((1024, 1024))
    batch = np.ascontiguousarray(
        ((np.asarray(rgb, np.float32) - 128) / 256).transpose(2, 0, 1)[None]
    )

    def run() -> float:
        start = time.perf_counter()
        session.run(["output"], {"input": batch})
        return time.perf_counter() - start

    return run


POLL_SECONDS = 0.25


def one_order(client: TestClient, key: str, photo: bytes, database: Path) -> tuple[float, float]:
    """(server seconds from creation to `active`, client seconds from create to `active`)."""
    headers = {"x-api-key": key}
    upload = client.post(
        "/external/api/v2/uploadImageUrl",
        headers=headers,
        json={"uploadType": "imageUrl", "size": len(photo), "contentType": "image/jpeg"},
    ).json()["body"]
    put = client.put(upload["uploadImage"], content=photo, headers={"Content-Type": "image/jpeg"})
    put.raise_for_status()
    created = client.post(
        "/external/api/v1/remove-background",
        headers=headers,
        json={"imageUrl": upload["imageUrl"], "background": ""},
    ).json()["body"]
    start = time.perf_counter()
    while True:
        status = client.post(
            "/external/api/v1/order-status", headers=headers, json={"orderId": created["orderId"]}
        ).json()["body"]
        if status["status"] != "init":
            if status["status"] != "active":
                raise RuntimeError(f"order failed: {status}")
            seen = time.perf_counter() - start
            return server_seconds(database, created["orderId"]), seen
        time.sleep(POLL_SECONDS)


def server_seconds(database: Path, order_id: str) -> float:
    """The order's `finished_at - created_at`, read from its row."""
    with sqlite3.connect(database) as connection:
        created, finished = connection.execute(
            "SELECT created_at, finished_at FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
    return (datetime.fromisoformat(finished) - datetime.fromisoformat(created)).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--results", type=Path, default=REPO / "bench/api_latency.json")
    args = parser.parse_args()
    photo = photo_1mp()
    with tempfile.TemporaryDirectory(prefix="backdrop-api-bench-") as scratch:
        # Polling every 20 ms is 50 requests a second, over the default per-key limit.
        limits = RateLimitSettings(requests="1000/second")
        settings = Settings(
            data_dir=Path(scratch), public_url=None, database_url=None, rate_limits=limits
        )
        runtime = build_node(settings)
        runtime.start()
        try:
            with TestClient(create_app(runtime.api)) as client:
                key = runtime.keys.create("bench", 1000).secret
                database = Path(scratch) / "backdrop.db"
                one_order(client, key, photo, database)  # warm-up: model compile, allocations
                bare = bare_model(photo)
                bare()
                seconds, seen_seconds, bare_seconds = [], [], []
                for _ in range(args.repeat):
                    bare_seconds.append(bare())
                    server, seen = one_order(client, key, photo, database)
                    seconds.append(server)
                    seen_seconds.append(seen)
        finally:
            runtime.stop()
    record = {
        "megapixels": 1.0,
        "seconds": seconds,
        "p50": statistics.median(seconds),
        "client_seconds": seen_seconds,
        "client_p50": statistics.median(seen_seconds),
        "poll_seconds": POLL_SECONDS,
        "bare_model_seconds": bare_seconds,
        "bare_model_p50": statistics.median(bare_seconds),
        "p50_over_bare_p50": statistics.median(seconds) / statistics.median(bare_seconds),
        "machine": machine(),
    }
    print(json.dumps(record))
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
