"""Two API processes and two Celery worker processes on PostgreSQL + RabbitMQ + S3 (moto).

The LightX sequence runs against node A and is polled on node B; a worker killed with
kill -9 mid-order leaves the order to the other worker, charged once; a message delivered
twice runs once; the API processes hold no model.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from backdrop.db.models import Order
from backdrop.db.session import Database
from backdrop.queue.celery_queue import CeleryQueue
from backdrop.settings import QueueSettings, StorageSettings
from backdrop.storage.s3 import S3ImageStore
from tests.cluster.processes import Cluster, post, running_cluster, upload
from tests.conftest import jpeg_bytes, subject_photo
from tests.infra import BROKERS, S3_ENV, unique

LEASE_SECONDS = 8
STATUS = "/external/api/v1/order-status"


# RabbitMQ gives a dead worker's message back at once; Redis only after its visibility
# timeout (an hour): there the lease expiry and the housekeeper's recovery bring it back.
@pytest.fixture(params=["rabbitmq", "redis"])
def cluster(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_url: str, s3_endpoint: str
) -> Iterator[Cluster]:
    queue, bucket = unique("bd-cluster"), unique("bd-cluster")
    broker = BROKERS[request.param]
    env = {
        **S3_ENV,
        "BACKDROP_DATABASE_URL": postgres_url,
        "BACKDROP_QUEUE__BACKEND": "celery",
        "BACKDROP_QUEUE__BROKER_URL": broker,
        "BACKDROP_QUEUE__NAME": queue,
        "BACKDROP_QUEUE__LEASE_SECONDS": str(LEASE_SECONDS),
        "BACKDROP_QUEUE__RECOVER_INTERVAL_SECONDS": "1",
        "BACKDROP_STORAGE__BACKEND": "s3",
        "BACKDROP_STORAGE__BUCKET": bucket,
        "BACKDROP_STORAGE__ENDPOINT_URL": s3_endpoint,
        "BACKDROP_SIGNING_SECRET": "cluster-test-secret-0123456789abcdef0123",
    }
    with running_cluster(tmp_path, env) as started:
        yield started


def _wait(base: str, key: str, order_id: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = post(base, STATUS, key, {"orderId": order_id})
        if body["status"] != "init" or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def _row(db: Database, order_id: str) -> Order:
    with db.unit_of_work() as session:
        order = session.scalar(
            select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
        )
        assert order is not None
        return order


def test_cluster(cluster: Cluster, postgres_url: str, s3_endpoint: str) -> None:
    secret = cluster.backdrop("keys", "create", "--credits", "10", "--name", "shop").stdout
    key = secret.strip().splitlines()[-1]
    a, b = cluster.start_api("api-a"), cluster.start_api("api-b")
    cluster.start_worker("worker-1")
    cluster.start_worker("worker-2")
    db = Database(postgres_url)
    try:
        _run_scenario(cluster, db, key, a, b, s3_endpoint)
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        db.dispose()


def _run_scenario(
    cluster: Cluster, db: Database, key: str, a: str, b: str, s3_endpoint: str
) -> None:
    # 1. The LightX sequence on node A, polled on node B (first order: workers warm up).
    image_url = upload(a, key, jpeg_bytes(subject_photo()[0]))
    order_id = str(
        post(a, "/external/api/v1/remove-background", key, {"imageUrl": image_url})["orderId"]
    )
    done = _wait(b, key, order_id, timeout=180)
    assert done["status"] == "active", done
    output = httpx.get(str(done["output"]), follow_redirects=True)
    assert output.status_code == 200
    assert Image.open(io.BytesIO(output.content)).size == (640, 480)
    assert (
        httpx.get(f"{b}/external/api/v1/account", headers={"x-api-key": key}).json()["body"][
            "credits"
        ]
        == 9.5
    )

    # 2. A worker killed with kill -9 in the middle of an order.
    big = jpeg_bytes(subject_photo(2400, 1800)[0])
    order_id = str(
        post(a, "/external/api/v1/remove-background", key, {"imageUrl": upload(a, key, big)})[
            "orderId"
        ]
    )
    deadline = time.monotonic() + 60
    owner = None
    while owner is None and time.monotonic() < deadline:
        row = _row(db, order_id)
        assert row.status == "init", "the order finished before it could be interrupted"
        owner = row.lease_owner
        time.sleep(0.01)
    assert owner is not None
    pid = int(owner.split(":")[-2])
    killed_at = time.monotonic()
    killed = cluster.kill(pid)
    assert killed.startswith("worker-")
    done = _wait(b, key, order_id, timeout=60)
    assert done["status"] == "active", done
    assert time.monotonic() - killed_at < 60
    row = _row(db, order_id)
    assert row.attempts == 2 and row.charged_cents == 50 and row.lease_owner is None
    assert str(pid) not in (row.output_key or "")
    credits = httpx.get(f"{a}/external/api/v1/account", headers={"x-api-key": key}).json()
    assert credits["body"]["credits"] == 9.0

    # 3. A duplicate delivery runs once (a replacement worker joins first).
    cluster.start_worker("worker-3")
    # (Image URLs name the node that issued them; behind a load balancer every node is given
    # its address as BACKDROP_PUBLIC_URL, so they all accept the same URLs.)
    image_url = upload(b, key, jpeg_bytes(subject_photo()[0]))
    order_id = str(
        post(b, "/external/api/v1/remove-background", key, {"imageUrl": image_url})["orderId"]
    )
    settings = QueueSettings(
        backend="celery",
        broker_url=cluster.env["BACKDROP_QUEUE__BROKER_URL"],
        name=cluster.env["BACKDROP_QUEUE__NAME"],
    )
    publisher = CeleryQueue(settings)
    publisher.submit(order_id)
    publisher.submit(order_id)
    publisher.stop()
    done = _wait(a, key, order_id, timeout=120)
    assert done["status"] == "active"
    time.sleep(2)  # let the duplicates be consumed
    row = _row(db, order_id)
    assert row.attempts == 1 and row.charged_cents == 50
    store = S3ImageStore(
        StorageSettings(
            backend="s3", bucket=cluster.env["BACKDROP_STORAGE__BUCKET"], endpoint_url=s3_endpoint
        ),
        max_age_seconds=86400,
    )
    listed = store._client.list_objects_v2(Bucket=store.bucket, Prefix=f"results/{order_id}")
    assert len(listed.get("Contents", [])) == 2  # one run's output and mask
    credits = httpx.get(f"{b}/external/api/v1/account", headers={"x-api-key": key}).json()
    assert credits["body"]["credits"] == 8.5

    # 4. The API processes hold no model; the workers do.
    for api in ("api-a", "api-b"):
        maps = cluster.maps(api)
        assert not re.search(r"onnxruntime|openvino", maps), f"{api} loaded an inference runtime"
    worker = next(name for name in ("worker-1", "worker-2") if name != killed)
    assert re.search(r"onnxruntime|openvino", cluster.maps(worker))
    assert max(cluster.rss_mib("api-a"), cluster.rss_mib("api-b")) < 250
    assert cluster.rss_mib(worker) > max(cluster.rss_mib("api-a"), cluster.rss_mib("api-b"))
