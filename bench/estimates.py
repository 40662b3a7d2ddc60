"""What clients are told against what orders take: avgResponseTimeInSec (and the unrounded
estimate behind it) against each order's creation-to-active time, by kind and image size.

The real embedded node in this process (`build_node` + `create_app`, the model measured at
start as `make run` does), one order at a time so nothing waits: a quote is then the run
estimate alone. The first order of each kind after start is the "cold" one. Writes
bench/estimates.json and bench/ESTIMATES.md with the CPU it ran on.

    .venv/bin/python bench/estimates.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from fastapi.testclient import TestClient
from machine import machine
from PIL import Image
from sqlalchemy import select

from backdrop.api.app import create_app
from backdrop.db.models import Order
from backdrop.serving.node import EmbeddedNode, build_node
from backdrop.settings import Settings

HERE = Path(__file__).resolve().parent
SIZES_MP = (0.3, 1.0, 4.0, 12.0)
KINDS = {
    "remove-background": {},
    "background-generator": {"textPrompt": "a sunlit wooden table by a window"},
}


def photo(megapixels: float) -> bytes:
    """A photo-like JPEG of about `megapixels`: a shaded ball on a gradient, with grain."""
    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = int(height * 4 / 3)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([60 + 120 * x / width, 80 + 100 * y / height, 150 - 50 * x / width], -1)
    ball = (x - width / 2) ** 2 + (y - height * 0.55) ** 2 < (height / 3.2) ** 2
    rgb[ball] = (210, 90, 40)
    rgb += np.random.default_rng(1).normal(0, 6, rgb.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def upload(client: TestClient, key: str, data: bytes) -> str:
    body = client.post(
        "/external/api/v2/uploadImageUrl",
        json={"uploadType": "imageUrl", "size": len(data), "contentType": "image/jpeg"},
        headers={"x-api-key": key},
    ).json()["body"]
    assert client.put(body["uploadImage"], content=data).status_code == 200
    image_url: str = body["imageUrl"]
    return image_url


def taken_seconds(node: EmbeddedNode, order_id: str) -> float:
    node.pool.join()
    with node.db.unit_of_work() as session:
        order = session.scalar(select(Order).where(Order.id == order_id))
        assert order is not None and order.status == "active", order
        assert order.finished_at is not None
        return (order.finished_at - order.created_at).total_seconds()


def run(repeats: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder) / "data")
        settings.rate_limits.requests = "1000/second"
        settings.rate_limits.orders = "1000/minute"
        started = time.perf_counter()
        node = build_node(settings)
        assert isinstance(node, EmbeddedNode)
        with TestClient(create_app(node.api, node)) as client:
            ready = time.perf_counter() - started
            key = node.keys.create("bench", 10_000).secret
            images = {mp: upload(client, key, photo(mp)) for mp in SIZES_MP}
            for kind, extra in KINDS.items():
                for index in range(repeats):
                    for mp in SIZES_MP:
                        estimate = node.pool.run_seconds(kind, mp)
                        created = client.post(
                            f"/external/api/v1/{kind}",
                            json={"imageUrl": images[mp], **extra},
                            headers={"x-api-key": key},
                        ).json()["body"]
                        rows.append(
                            {
                                "kind": kind,
                                "megapixels": mp,
                                "cold": index == 0 and mp == SIZES_MP[0],
                                "quoted": created["avgResponseTimeInSec"],
                                "estimate": round(estimate, 3),
                                "taken": round(taken_seconds(node, created["orderId"]), 3),
                            }
                        )
    return {"start_seconds": round(ready, 1), "orders": rows}


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    table = []
    for kind in KINDS:
        for mp in SIZES_MP:
            runs = [r for r in rows if r["kind"] == kind and r["megapixels"] == mp]
            taken = statistics.median(r["taken"] for r in runs)
            estimate = statistics.median(r["estimate"] for r in runs)
            quoted = statistics.median(r["quoted"] for r in runs)
            table.append(
                {
                    "kind": kind,
                    "megapixels": mp,
                    "taken_p50": round(taken, 2),
                    "estimate_p50": round(estimate, 2),
                    "quoted_p50": quoted,
                    "estimate_over_taken": round(estimate / taken, 2),
                }
            )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = run(args.repeats)
    result["machine"] = machine()
    result["summary"] = summarise(result["orders"])
    (HERE / "estimates.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Quoted against taken (bench/estimates.py)",
        "",
        f"Machine: {result['machine']['cpu']} ({result['machine']['isa']}), "
        f"{result['machine']['cores']} cores, load {result['machine']['load_average']}",
        "",
        "One order at a time on the embedded node, the model measured at start; p50 of "
        f"{args.repeats} orders per row; `estimate` is the unrounded quote, "
        "`quoted` the whole seconds a client sees (at least 1).",
        "",
        "| kind | MP | taken p50 (s) | estimate p50 (s) | quoted p50 (s) | estimate / taken |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['kind']} | {row['megapixels']} | {row['taken_p50']} | "
            f"{row['estimate_p50']} | {row['quoted_p50']} | {row['estimate_over_taken']} |"
        )
    cold = [r for r in result["orders"] if r["cold"]]
    lines += ["", "Cold (the first order of each kind after start):", ""]
    for row in cold:
        lines.append(
            f"- {row['kind']} at {row['megapixels']} MP: estimate {row['estimate']} s, "
            f"taken {row['taken']} s"
        )
    (HERE / "ESTIMATES.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
