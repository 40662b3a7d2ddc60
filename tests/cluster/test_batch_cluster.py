"""Two batching workers (`backdrop worker --batch 4`) on RabbitMQ + PostgreSQL + S3 (moto),
with a tiny test-made model: one is killed with kill -9 in the middle of its batch, and
every order still ends `active`, charged exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backdrop.accounts.api_keys import ApiKeys
from backdrop.db.models import ApiKey, Order
from backdrop.db.session import Database
from backdrop.kinds import Operation
from backdrop.orders.lifecycle import Lifecycle
from backdrop.orders.params import RemovalParams
from backdrop.queue.celery_queue import CeleryQueue
from backdrop.settings import QueueSettings, Settings, StorageSettings
from backdrop.storage.s3 import S3ImageStore
from tests.cluster.processes import Cluster, running_cluster
from tests.conftest import jpeg_bytes, subject_photo
from tests.infra import BROKERS, S3_ENV, free_port, unique
from tests.orders.batch_harness import tiny_settings

LEASE_SECONDS = 6
ORDERS = 8


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, s3_endpoint: str) -> Iterator[Cluster]:
    models = tiny_settings(tmp_path / "tiny")
    queue, bucket = unique("bd-batch"), unique("bd-batch")
    env = {
        **S3_ENV,
        "BACKDROP_DATABASE_URL": postgres_url,
        "BACKDROP_QUEUE__BACKEND": "celery",
        "BACKDROP_QUEUE__BROKER_URL": BROKERS["rabbitmq"],
        "BACKDROP_QUEUE__NAME": queue,
        "BACKDROP_QUEUE__LEASE_SECONDS": str(LEASE_SECONDS),
        "BACKDROP_QUEUE__RECOVER_INTERVAL_SECONDS": "1",
        "BACKDROP_STORAGE__BACKEND": "s3",
        "BACKDROP_STORAGE__BUCKET": bucket,
        "BACKDROP_STORAGE__ENDPOINT_URL": s3_endpoint,
        "BACKDROP_SIGNING_SECRET": "cluster-test-secret-0123456789abcdef0123",
        "BACKDROP_MODELS_DIR": str(models.models_dir),
        "BACKDROP_MODELS_CONFIG": str(models.models_config),
        "BACKDROP_SEGMENTATION_MODEL": "tiny",
        "BACKDROP_WORKER__MEASURE_AT_START": "false",
    }
    with running_cluster(tmp_path, env) as started:
        yield started


def _worker(cluster: Cluster, name: str) -> None:
    cluster.ports[name] = free_port()
    cluster._spawn(
        name,
        [
            "worker",
            "--batch",
            "4",
            "--max-wait-ms",
            "300",
            "--pipeline-processes",
            "1",
            "--metrics-port",
            str(cluster.ports[name]),
            "--hostname",
            # Unique: a node name another test run on the same broker holds makes Celery
            # refuse to start (its pidbox queue is exclusive).
            f"{unique(name)}@%h",
        ],
    )


def _spawned_children(parent: int) -> list[int]:
    """Pids of `parent`'s multiprocessing children (spawned pool processes)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        if ppid == parent and b"spawn_main" in command:
            children.append(int(stat.parent.name))
    return children


def test_kill_9_mid_batch_loses_no_order_and_charges_once(
    cluster: Cluster, postgres_url: str, s3_endpoint: str
) -> None:
    env = cluster.env
    settings = Settings(
        data_dir=cluster.root / "orders",
        database_url=postgres_url,
        queue=QueueSettings(lease_seconds=LEASE_SECONDS),
    )
    db = Database(postgres_url)
    from backdrop.db.migrate import upgrade

    upgrade(db.engine)
    store = S3ImageStore(
        StorageSettings(
            backend="s3", bucket=env["BACKDROP_STORAGE__BUCKET"], endpoint_url=s3_endpoint
        ),
        max_age_seconds=86400,
    )
    store.ensure_bucket()
    key_id = ApiKeys(db).create("batch", 100).info.id
    lifecycle = Lifecycle(db, settings)
    publisher = CeleryQueue(
        QueueSettings(
            backend="celery",
            broker_url=env["BACKDROP_QUEUE__BROKER_URL"],
            name=env["BACKDROP_QUEUE__NAME"],
        )
    )
    try:
        _worker(cluster, "worker-1")
        _worker(cluster, "worker-2")
        # Large photos: decoding and encoding them keeps a batch in flight for seconds.
        photo = jpeg_bytes(subject_photo(2400, 1800)[0])
        ids = []
        for index in range(ORDERS):
            key = f"uploads/batch-{index}.jpg"
            store.write(key, photo, "image/jpeg")
            ids.append(
                lifecycle.create(key_id, Operation.REMOVE_BACKGROUND, key, RemovalParams()).id
            )
        for order_id in ids:
            publisher.submit(order_id)
        # Kill whichever worker first holds two orders at once (a batch being filled/run).
        deadline = time.monotonic() + 180
        victim = None
        while victim is None and time.monotonic() < deadline:
            with db.unit_of_work() as session:
                owners = [
                    o
                    for o in session.scalars(select(Order.lease_owner).where(Order.id.in_(ids)))
                    if o
                ]
            pids = [int(owner.split(":")[-2]) for owner in owners]
            for pid in set(pids):
                if pids.count(pid) >= 2:
                    victim = pid
            time.sleep(0.05)
        assert victim is not None, cluster.logs()
        held = pids.count(victim)
        pool = _spawned_children(victim)
        assert pool, "the batching worker runs its stages in spawned processes"
        assert cluster.kill(victim).startswith("worker-")
        # Its stage processes end with it (serving/orphans.py), not wait on a dead queue.
        deadline = time.monotonic() + 15
        while any(Path(f"/proc/{pid}").exists() for pid in pool) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pool if Path(f"/proc/{pid}").exists()]
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with db.unit_of_work() as session:
                rows = list(
                    session.scalars(
                        select(Order)
                        .where(Order.id.in_(ids))
                        .execution_options(populate_existing=True)
                    )
                )
            if all(row.status != "init" for row in rows):
                break
            time.sleep(0.5)
        assert [row.status for row in rows] == ["active"] * ORDERS, cluster.logs()
        assert all(row.charged_cents == 50 for row in rows)
        assert sum(row.attempts >= 2 for row in rows) >= held
        with db.unit_of_work() as session:
            key = session.get(ApiKey, key_id)
            assert key is not None and key.credit_cents == 100 * 100 - ORDERS * 50
        # The survivor said where its model runs, and its /metrics shows its batches.
        survivor = next(
            name
            for name, process in cluster.processes.items()
            if process.pid != victim and process.poll() is None
        )
        log = (cluster.root / f"{survivor}.log").read_text()
        assert "batching worker: device cpu, provider CPU, precision fp32, batch 4" in log
        port = cluster.ports[survivor]
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "backdrop_batch_size_count" in metrics
        assert 'backdrop_stage_queue_depth{stage="ready"}' in metrics
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        publisher.stop()
        db.dispose()
