"""Throughput and time-to-active of the embedded server and of a Celery cluster on this machine.

    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --out bench/cluster.json
    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --tiny --orders 20 --out ...
    PYTHONPATH=src:. .venv/bin/python bench/cluster.py --modes embedded,nginx-2api-2w \
        --out bench/deploy.json --append     # bench/DEPLOY.md "Cluster behind nginx"

Modes: `embedded` (one `backdrop serve`: SQLite, local files, in-process pool), `cluster-N`
(one API node + N `backdrop worker` processes on PostgreSQL + RabbitMQ + S3 through moto) and
`nginx-2api-2w` (Debian's nginx in front of 2 API nodes that trust it through
BACKDROP_TRUSTED_PROXIES=127.0.0.1, + 2 workers; the clients talk to nginx only).

`--rolling-restart` (nginx mode): while the clients run, SIGTERM worker 1 (it drains), start
its replacement, wait until it consumes, then the same for worker 2; reported: every order
active, each charged once (credits before/after), no order recovered by the lease sweeper,
the longest time-to-active of an order that overlapped the restart, the workers' exit codes.
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
from sqlalchemy import create_engine, select, text

from backdrop.db.models import Order
from backdrop.db.session import Database
from tests.cluster.nginx import nginx_binary, running_nginx
from tests.cluster.processes import Cluster, post
from tests.conftest import POSTGRES_ADMIN_URL, jpeg_bytes, subject_photo
from tests.engines.tiny_onnx import write_tiny_model
from tests.infra import RABBITMQ_URL, S3_ENV, free_port, moto_server, unique

REMOVE = "/external/api/v1/remove-background"
STATUS = "/external/api/v1/order-status"
SECRET = "bench-cluster-secret-0123456789abcdef0123"
NGINX_MODE = "nginx-2api-2w"
READY = "ready."  # what Celery logs once a worker consumes
RECOVERED = "stalled orders again"  # what the lease sweeper logs when it re-queues an order

# One order as a client lived it: time-to-active, the whole sequence, and when (monotonic) it
# was placed and seen active, so orders can be matched against the restart's window.
Sample = tuple[float, float, float, float]


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
    base: str,
    key: str,
    data: bytes,
    orders: int,
    out: list[Sample],
    poll: float = 0.1,
    errors: list[str] | None = None,
) -> None:
    """LightX's sequence `orders` times; appends a Sample per order (errors, if given, collects
    what stopped the client instead of losing it with its thread)."""
    try:
        _lightx_orders(base, key, data, orders, out, poll)
    except Exception as error:
        if errors is None:
            raise
        errors.append(f"{type(error).__name__}: {error}"[:500])


def _lightx_orders(
    base: str, key: str, data: bytes, orders: int, out: list[Sample], poll: float
) -> None:
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
                out.append((now - started, now - begun, started, now))
                break
            time.sleep(poll)


def load(
    base: str,
    key: str,
    data: bytes,
    clients: int,
    orders: int,
    poll: float,
    during: Any = None,
) -> tuple[dict[str, Any], list[Sample]]:
    """The clients at once; `during`, if given, is called once they have started (in this
    thread) and the clients are waited for after it returns."""
    lightx_client(base, key, data, 1, [])  # warm-up: first order loads what loads lazily
    pairs: list[Sample] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=lightx_client, args=(base, key, data, orders, pairs, poll, errors))
        for _ in range(clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    if during is not None:
        during()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    ordered = sorted(sample[0] for sample in pairs)
    if not ordered:
        raise RuntimeError(f"no order became active: {errors}")
    return {
        "orders": len(ordered),
        "orders_per_s": round(len(ordered) / wall, 3),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
        "mean_s": round(statistics.fmean(ordered), 3),
        # uploadImageUrl + PUT + remove-background + polls, as a client lives it.
        "sequence_mean_s": round(statistics.fmean(sample[1] for sample in pairs), 3),
        "client_errors": errors,
    }, pairs


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
    env: dict[str, str] = {
        "BACKDROP_SIGNING_SECRET": SECRET,
        "PYTHONUNBUFFERED": "1",
        # 4 clients polling every 0.1 s on one key exceed the default 20 requests/s per key,
        # and each node counts its own: lifted, so every mode measures the server, not the limit.
        "BACKDROP_RATE_LIMITS__REQUESTS": "100000/second",
    }
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
    url = ""
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
    if mode == NGINX_MODE:
        # nginx connects from 127.0.0.1: the nodes take the client's address from it.
        env["BACKDROP_TRUSTED_PROXIES"] = "127.0.0.1"
    cluster = Cluster(root / mode, env)
    (root / mode).mkdir()
    size = (320, 240) if args.tiny else (1152, 864)
    data = jpeg_bytes(subject_photo(*size)[0])
    clients = 1 if args.tiny else args.clients
    poll = 0.02 if args.tiny else 0.1
    try:
        key = (
            cluster.backdrop("keys", "create", "--credits", "1000").stdout.strip().splitlines()[-1]
        )
        if mode == NGINX_MODE:
            result = _behind_nginx(cluster, args, root / mode, key, data, clients, poll, url)
        else:
            base = cluster.start_api("api")
            for index in range(workers):
                cluster.start_worker(f"worker-{index + 1}")
            result, _ = load(base, key, data, clients, args.orders, poll)
        result.update({"mode": mode, "clients": clients, "image": f"{size[0]}x{size[1]}"})
        return result
    except BaseException:
        print(cluster.logs(), flush=True)
        raise
    finally:
        cluster.stop()
        if drop is not None:
            drop()


def _behind_nginx(
    cluster: Cluster,
    args: argparse.Namespace,
    root: Path,
    key: str,
    data: bytes,
    clients: int,
    poll: float,
    database_url: str,
) -> dict[str, Any]:
    """nginx -> 2 API nodes -> 2 workers; the clients see nginx only."""
    binary = nginx_binary()
    if binary is None:
        raise SystemExit("nginx is not installed (Debian: apt-get install -y nginx-light)")
    nodes = [cluster.start_api("api-1"), cluster.start_api("api-2")]
    for name in ("worker-1", "worker-2"):
        cluster.start_worker(name, hostname=None)  # their own default names, as deployed
    for name in ("worker-1", "worker-2"):
        cluster.wait_for_log(name, READY)
    upstreams = [node.removeprefix("http://") for node in nodes]
    with running_nginx(binary, root / "nginx", free_port(), upstreams) as proxy:
        credits_before = _credits(proxy, key)
        restart = RollingRestart(cluster) if args.rolling_restart else None
        result, samples = load(
            proxy, key, data, clients, args.orders, poll, during=restart and restart.run
        )
        # Every order of this run, warm-up included, from the database: nothing is lost.
        result["orders_all"] = _orders_summary(database_url)
        result["credits_before"] = credits_before
        result["credits_after"] = _credits(proxy, key)
    if restart is not None:
        result["rolling_restart"] = restart.report(samples)
    return result


class RollingRestart:
    """SIGTERM worker 1, start its replacement, wait until it consumes; then worker 2."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.exit_codes: dict[str, int] = {}
        self.window: tuple[float, float] = (0.0, 0.0)
        self.steps: list[str] = []

    def run(self) -> None:
        # Let every client's first order reach a worker, so each stop lands mid-order.
        time.sleep(3.0)
        begun = time.monotonic()
        for old, new in (("worker-1", "worker-3"), ("worker-2", "worker-4")):
            stopping = time.monotonic()
            self.exit_codes[old] = self.cluster.terminate(old)
            self.steps.append(
                f"{old} exited {self.exit_codes[old]} after {time.monotonic() - stopping:.1f} s"
            )
            self.cluster.start_worker(new, hostname=None)
            self.cluster.wait_for_log(new, READY)
            self.steps.append(f"{new} ready {time.monotonic() - begun:.1f} s into the restart")
        self.window = (begun, time.monotonic())

    def report(self, samples: list[Sample]) -> dict[str, Any]:
        begun, ended = self.window
        overlapping = [
            tta for tta, _, placed, active in samples if placed < ended and active > begun
        ]
        logs = {name: self.cluster.log(name) for name in self.cluster.processes}
        return {
            "restart_s": round(ended - begun, 1),
            "steps": self.steps,
            "exit_codes": self.exit_codes,
            "orders_overlapping": len(overlapping),
            "max_time_to_active_during_s": round(max(overlapping), 3) if overlapping else None,
            "handed_back": [name for name, log in logs.items() if "handed back" in log],
            "drained_clean": [name for name, log in logs.items() if "drained: no order" in log],
            "recovered_by_sweeper": [name for name, log in logs.items() if RECOVERED in log],
        }


def _credits(base: str, key: str) -> float:
    answer = httpx.get(f"{base}/external/api/v1/account", headers={"x-api-key": key}, timeout=30)
    answer.raise_for_status()
    credits: float = answer.json()["body"]["credits"]
    return credits


def _orders_summary(database_url: str) -> dict[str, Any]:
    """Status, charge and attempts of every order in the run's own database."""
    db = Database(database_url)
    try:
        with db.unit_of_work() as session:
            orders = list(session.scalars(select(Order)))
            statuses = sorted({str(order.status.value) for order in orders})
            charges = sorted({order.charged_cents for order in orders})
            attempts = sorted({order.attempts for order in orders})
            return {
                "count": len(orders),
                "statuses": statuses,
                "all_active": all(str(order.status.value) == "active" for order in orders),
                "charged_cents_each": charges,
                "charged_cents_total": sum(order.charged_cents for order in orders),
                "attempts_each": attempts,
            }
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--orders", type=int, default=3, help="orders per client")
    parser.add_argument("--modes", default="embedded,cluster-1,cluster-2")
    parser.add_argument("--tiny", action="store_true", help="a no-cost model: path overhead")
    parser.add_argument(
        "--rolling-restart",
        action="store_true",
        help=f"{NGINX_MODE}: restart both workers one by one while the clients run",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--append", action="store_true", help="add this run to --out's runs")
    args = parser.parse_args()
    for name, value in S3_ENV.items():
        os.environ.setdefault(name, value)
    results = []
    with tempfile.TemporaryDirectory(prefix="backdrop-bench-") as tmp:
        root = Path(tmp)
        with moto_server(root / "moto.log") as s3:
            for mode in args.modes.split(","):
                workers = int(mode.split("-")[1]) if mode.startswith("cluster-") else 0
                load_before = os.getloadavg()[0]
                result = run_mode(mode, workers, args, root, s3)
                # The machine is shared: the load beside each figure says how quiet it was.
                result["loadavg_1min"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
                print(json.dumps(result), flush=True)
                results.append(result)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    report = {"cpu": cpu(), "uptime_at_end": uptime, "tiny": args.tiny, "results": results}
    print(json.dumps(report["cpu"]))
    report["args"] = {
        "clients": args.clients,
        "orders": args.orders,
        "modes": args.modes,
        "rolling_restart": args.rolling_restart,
    }
    if args.out and args.append and args.out.exists():
        # Several invocations in one file: {"runs": [report, ...]}.
        previous = json.loads(args.out.read_text())
        runs = previous.get("runs", [previous])
        args.out.write_text(json.dumps({"runs": [*runs, report]}, indent=2) + "\n")
    elif args.out:
        args.out.write_text(
            json.dumps({"runs": [report]} if args.append else report, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
