"""Throughput and time-to-active of the embedded server and of a Celery cluster on this machine.

    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --out bench/cluster.json
    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --tiny --orders 20 --out ...

Modes: `embedded` (one `backdrop serve`: SQLite, local files, in-process pool) and `cluster-N`
(one API node + N `backdrop worker` processes on PostgreSQL + RabbitMQ + S3 through moto).
Each client runs LightX's sequence (uploadImageUrl, PUT, remove-background, order-status)
for `--orders` 1 MP photos, one after another; clients run at once. Time-to-active is from
sending remove-background to the first order-status answering `active` (polled every 0.1 s,
not LightX's 3 s, so the figure is the server's and not the poll interval's).

`--tiny` swaps the model for a test-made ONNX graph that costs ~nothing, so what remains is
the per-order cost of the path itself (API + broker + database + storage), one client.
Needs the local PostgreSQL and RabbitMQ, like the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.cluster.processes import Cluster, post
from tests.conftest import POSTGRES_ADMIN_URL, jpeg_bytes, subject_photo
from tests.engines.tiny_onnx import write_tiny_model
from tests.infra import RABBITMQ_URL, S3_ENV, moto_server, unique

REMOVE = "/external/api/v1/remove-background"
STATUS = "/external/api/v1/order-status"
SECRET = "bench-cluster-secret-0123456789abcdef0123"


def cpu() -> dict[str, str]:
    """The CPU model and the ISA flags that matter for inference, beside every figure."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lscpu.splitlines())
    )
    flags = set(fields.get("Flags", "").split())
    wanted = ["avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile"]
    return {
        "model": fields.get("Model name", platform.processor()),
        "cpus": fields.get("CPU(s)", "?"),
        "isa": " ".join(flag for flag in wanted if flag in flags),
    }


def lightx_client(
    base: str, key: str, data: bytes, orders: int, out: list[tuple[float, float]], poll: float = 0.1
) -> None:
    """LightX's sequence `orders` times; appends (time-to-active, whole sequence) per order."""
    for _ in range(orders):
        begun = time.monotonic()
        body = post(
            base,
            "/external/api/v2/uploadImageUrl",
            key,
            {"uploadType": "imageUrl", "size": len(data), "contentType": "image/jpeg"},
        )
        put = httpx.put(
            str(body["uploadImage"]), content=data, headers={"Content-Type": "image/jpeg"}
        )
        assert put.status_code == 200, put.text
        started = time.monotonic()
        order = post(
            base, "/external/api/v1/remove-background", key, {"imageUrl": body["imageUrl"]}
        )
        while True:
            status = post(base, "/external/api/v1/order-status", key, {"orderId": order["orderId"]})
            if status["status"] != "init":
                assert status["status"] == "active", status
                now = time.monotonic()
                out.append((now - started, now - begun))
                break
            time.sleep(poll)


def load(
    base: str, key: str, data: bytes, clients: int, orders: int, poll: float
) -> dict[str, Any]:
    lightx_client(base, key, data, 1, [])  # warm-up: first order loads what loads lazily
    pairs: list[tuple[float, float]] = []
    threads = [
        threading.Thread(target=lightx_client, args=(base, key, data, orders, pairs, poll))
        for _ in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    ordered = sorted(active for active, _ in pairs)
    return {
        "orders": len(ordered),
        "orders_per_s": round(len(ordered) / wall, 3),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
        "mean_s": round(statistics.fmean(ordered), 3),
        # uploadImageUrl + PUT + remove-background + polls, as a client lives it.
        "sequence_mean_s": round(statistics.fmean(whole for _, whole in pairs), 3),
    }


def database() -> tuple[str, Any]:
    name = unique("backdrop_bench").replace("-", "_")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", drop


def run_mode(
    mode: str, workers: int, args: argparse.Namespace, root: Path, s3: str
) -> dict[str, Any]:
    env: dict[str, str] = {"BACKDROP_SIGNING_SECRET": SECRET}
    if args.tiny:
        models = root / "models"
        models.mkdir(exist_ok=True)
        write_tiny_model(models / "tiny.onnx", 320)
        (models / "models.json").write_text(
            json.dumps({"tiny": {"preset": "u2net", "path": "tiny.onnx", "license": "test"}})
        )
        env["BACKDROP_MODELS_CONFIG"] = str(models / "models.json")
        env["BACKDROP_SEGMENTATION_MODEL"] = "tiny"
    drop = None
    if mode == "embedded":
        # The key made by the CLI and the server share one SQLite file.
        env["BACKDROP_DATABASE_URL"] = f"sqlite:///{root / mode / 'backdrop.db'}"
    else:
        url, drop = database()
        env.update(
            {
                **S3_ENV,
                "BACKDROP_DATABASE_URL": url,
                "BACKDROP_QUEUE__BACKEND": "celery",
                "BACKDROP_QUEUE__BROKER_URL": RABBITMQ_URL,
                "BACKDROP_QUEUE__NAME": unique("bd-bench"),
                "BACKDROP_STORAGE__BACKEND": "s3",
                "BACKDROP_STORAGE__BUCKET": unique("bd-bench"),
                "BACKDROP_STORAGE__ENDPOINT_URL": s3,
            }
        )
    cluster = Cluster(root / mode, env)
    (root / mode).mkdir()
    try:
        key = (
            cluster.backdrop("keys", "create", "--credits", "1000").stdout.strip().splitlines()[-1]
        )
        base = cluster.start_api("api")
        for index in range(workers):
            cluster.start_worker(f"worker-{index + 1}")
        size = (320, 240) if args.tiny else (1152, 864)
        data = jpeg_bytes(subject_photo(*size)[0])
        clients = 1 if args.tiny else args.clients
        result = load(base, key, data, clients, args.orders, 0.02 if args.tiny else 0.1)
        result.update({"mode": mode, "clients": clients, "image": f"{size[0]}x{size[1]}"})
        return result
    finally:
        cluster.stop()
        if drop is not None:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--orders", type=int, default=3, help="orders per client")
    parser.add_argument("--modes", default="embedded,cluster-1,cluster-2")
    parser.add_argument("--tiny", action="store_true", help="a no-cost model: path overhead")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    for name, value in S3_ENV.items():
        os.environ.setdefault(name, value)
    results = []
    with tempfile.TemporaryDirectory(prefix="backdrop-bench-") as tmp:
        root = Path(tmp)
        with moto_server(root / "moto.log") as s3:
            for mode in args.modes.split(","):
                workers = int(mode.split("-")[1]) if mode.startswith("cluster") else 0
                load_before = os.getloadavg()[0]
                result = run_mode(mode, workers, args, root, s3)
                # The machine is shared: the load beside each figure says how quiet it was.
                result["loadavg_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
                print(json.dumps(result), flush=True)
                results.append(result)
    report = {"cpu": cpu(), "tiny": args.tiny, "results": results}
    print(json.dumps(report["cpu"]))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
