"""Workers as an orchestrator runs them: several on one host under their default names, and a
rolling restart (SIGTERM one, start its replacement, then the next) while orders run.

Real processes on PostgreSQL + RabbitMQ + S3 (moto). The lease and the re-queue deadline are
made long (LEASE_SECONDS) so that an order left to expire could not finish within the test: every
order ends `active`, charged once, on its first counted attempt, and no process ever logs
the recovery of a stalled order.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from backdrop.db.models import ApiKey, Order
from backdrop.db.session import Database
from backdrop.queue.celery_queue import celery_app
from backdrop.settings import QueueSettings
from tests.cluster.processes import Cluster, post, running_cluster, upload
from tests.conftest import jpeg_bytes, subject_photo
from tests.infra import RABBITMQ_URL, S3_ENV, unique

LEASE_SECONDS = 900
ORDERS = 20
READY = "ready."  # what Celery logs once a worker consumes
RECOVERED = "stalled orders again"  # what the housekeeper logs when it re-queues one


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, s3_endpoint: str) -> Iterator[Cluster]:
    queue, bucket = unique("bd-workers"), unique("bd-workers")
    env = {
        **S3_ENV,
        "BACKDROP_DATABASE_URL": postgres_url,
        "BACKDROP_QUEUE__BACKEND": "celery",
        "BACKDROP_QUEUE__BROKER_URL": RABBITMQ_URL,
        "BACKDROP_QUEUE__NAME": queue,
        "BACKDROP_QUEUE__LEASE_SECONDS": str(LEASE_SECONDS),
        "BACKDROP_QUEUE__REQUEUE_SECONDS": str(LEASE_SECONDS),
        "BACKDROP_QUEUE__RECOVER_INTERVAL_SECONDS": "1",
        "BACKDROP_STORAGE__BACKEND": "s3",
        "BACKDROP_STORAGE__BUCKET": bucket,
        "BACKDROP_STORAGE__ENDPOINT_URL": s3_endpoint,
        "BACKDROP_SIGNING_SECRET": "worker-test-secret-0123456789abcdef0123",
        "PYTHONUNBUFFERED": "1",
    }
    with running_cluster(tmp_path, env) as started:
        yield started


def _orders(db: Database, ids: list[str]) -> list[Order]:
    with db.unit_of_work() as session:
        return list(
            session.scalars(
                select(Order).where(Order.id.in_(ids)).execution_options(populate_existing=True)
            )
        )


def _wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_two_workers_on_one_host_take_their_own_names_and_both_consume(
    cluster: Cluster, postgres_url: str
) -> None:
    key = cluster.backdrop("keys", "create", "--credits", "10").stdout.strip().splitlines()[-1]
    api = cluster.start_api("api")
    # The README's command, twice, with no --hostname: before, the second died on the
    # pidbox queue lock (RESOURCE_LOCKED) of the shared default name celery@<host>.
    cluster.start_worker("worker-1", hostname=None)
    cluster.start_worker("worker-2", hostname=None)
    try:
        cluster.wait_for_log("worker-1", READY)
        cluster.wait_for_log("worker-2", READY)
        app = celery_app(QueueSettings(backend="celery", broker_url=RABBITMQ_URL))
        try:
            replies = app.control.ping(timeout=3)
        finally:
            app.close()
        names = {name for reply in replies for name in reply}
        ours = {
            name
            for name in names
            if any(f"backdrop-{cluster.processes[w].pid}-" in name for w in cluster.processes)
        }
        assert len(ours) == 2, names
        # Both consume: with one order at a time each, four orders at once reach both.
        image = upload(api, key, jpeg_bytes(subject_photo(1600, 1200)[0]))
        ids = [
            str(
                post(api, "/external/api/v1/remove-background", key, {"imageUrl": image})["orderId"]
            )
            for _ in range(4)
        ]
        db = Database(postgres_url)
        try:
            _wait_until(
                lambda: all(o.status == "active" for o in _orders(db, ids)), 180, "4 orders"
            )
        finally:
            db.dispose()
        for worker in ("worker-1", "worker-2"):
            assert "succeeded" in cluster.log(worker), cluster.logs()
            assert cluster.processes[worker].poll() is None
    except BaseException:
        print(cluster.logs())
        raise


def test_rolling_restart_of_two_workers_loses_and_delays_nothing(
    cluster: Cluster, postgres_url: str
) -> None:
    key_line = cluster.backdrop("keys", "create", "--credits", "50", "--name", "shop").stdout
    key = key_line.strip().splitlines()[-1]
    api = cluster.start_api("api")
    # worker-1 hands its running order back at once (no grace); worker-2 lets its order
    # finish (the default 30 s): both ways a stopping worker can end.
    cluster.start_worker("worker-1", BACKDROP_WORKER__DRAIN_SECONDS="0")
    cluster.start_worker("worker-2")
    db = Database(postgres_url)
    try:
        cluster.wait_for_log("worker-1", READY)
        cluster.wait_for_log("worker-2", READY)
        _rolling_restart(cluster, db, api, key)
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        db.dispose()


def _pid(order: Order) -> int | None:
    return None if order.lease_owner is None else int(order.lease_owner.split(":")[-2])


def _rolling_restart(cluster: Cluster, db: Database, api: str, key: str) -> None:
    image = upload(api, key, jpeg_bytes(subject_photo(2000, 1500)[0]))
    started = time.monotonic()
    ids: list[str] = []

    def place() -> None:
        # Orders keep arriving during the restart, as they do in production.
        for _ in range(ORDERS):
            body = post(api, "/external/api/v1/remove-background", key, {"imageUrl": image})
            ids.append(str(body["orderId"]))
            time.sleep(0.2)

    placing = threading.Thread(target=place)
    placing.start()

    def running_on(worker: str) -> bool:
        pid = cluster.processes[worker].pid
        return any(_pid(order) == pid for order in _orders(db, list(ids)))

    # 1. worker-1 is stopped in the middle of an order: it hands the order back.
    _wait_until(lambda: running_on("worker-1"), 120, "an order on worker-1")
    assert cluster.terminate("worker-1") == 0
    assert "handed back 1 orders" in cluster.log("worker-1"), cluster.log("worker-1")
    cluster.start_worker("worker-3")
    cluster.wait_for_log("worker-3", READY)

    # 2. worker-2 is stopped in the middle of an order: it finishes it first.
    _wait_until(lambda: running_on("worker-2"), 120, "an order on worker-2")
    assert cluster.terminate("worker-2") == 0
    assert "drained: no order is running" in cluster.log("worker-2"), cluster.log("worker-2")
    cluster.start_worker("worker-4")
    placing.join(60)
    assert len(ids) == ORDERS

    _wait_until(
        lambda: all(o.status != "init" for o in _orders(db, ids)), 240, "every order to end"
    )
    elapsed = time.monotonic() - started
    orders = _orders(db, ids)
    assert [o.status for o in orders] == ["active"] * ORDERS, [
        (o.id, o.status, o.failure_reason) for o in orders
    ]
    # Charged once each, and no order waited for a lease to run out: the handed-back one
    # ran again at once, its attempt not counted; nothing was recovered by the sweeper.
    assert all(o.charged_cents == 50 and o.attempts == 1 for o in orders)
    with db.unit_of_work() as session:
        keys = list(session.scalars(select(ApiKey)))
    assert [k.credit_cents for k in keys] == [5000 - 50 * ORDERS]
    assert elapsed < LEASE_SECONDS, elapsed
    for name in cluster.processes:
        assert RECOVERED not in cluster.log(name), cluster.log(name)
