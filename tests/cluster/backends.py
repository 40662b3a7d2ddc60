"""An API node and its worker on any queue and store backend, for in-process API tests.

The Celery worker runs in a thread of the test process (celery.contrib.testing), consuming a
real broker; its runner is the same code `backdrop worker` runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from backdrop.api.app import create_app
from backdrop.common.clock import Clock
from backdrop.engines.segmentation import Segmenter
from backdrop.serving.node import EmbeddedNode, build_node, build_worker
from backdrop.settings import QueueSettings, Settings, StorageSettings
from tests.infra import BROKERS, unique

# (queue, broker, store): every queue backend and every store backend is covered, and both
# brokers; all on PostgreSQL.
COMBINATIONS = [
    ("embedded", None, "local"),
    ("embedded", None, "s3"),
    ("celery", "rabbitmq", "local"),
    ("celery", "redis", "s3"),
]
SECRET = "test-cluster-secret-0123456789abcdef"


@dataclass
class Node:
    client: TestClient
    runtime: EmbeddedNode
    settings: Settings

    def ticket(self, key: str, size: int, content_type: str = "image/jpeg") -> dict[str, Any]:
        """LightX's uploadImageUrl: {uploadImage, imageUrl, size}."""
        answer = self.client.post(
            "/external/api/v2/uploadImageUrl",
            json={"uploadType": "imageUrl", "size": size, "contentType": content_type},
            headers={"x-api-key": key},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()["body"]
        return body

    def upload(self, key: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """LightX's uploadImageUrl + PUT, to whichever URL the node hands out."""
        body = self.ticket(key, len(data), content_type)
        put = self.put(body["uploadImage"], data, content_type)
        assert put.status_code == 200, put.text
        image_url: str = body["imageUrl"]
        return image_url

    def put(self, url: str, data: bytes, content_type: str) -> httpx.Response:
        headers = {"Content-Type": content_type}
        if url.startswith("http://testserver"):
            return self.client.put(url, content=data, headers=headers)
        return httpx.put(url, content=data, headers=headers)  # straight into the bucket

    def order(self, key: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.client.post(
            f"/external/api/v1/{path}", json=payload, headers={"x-api-key": key}
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()["body"]
        return body

    def status(self, key: str, order_id: str) -> dict[str, Any]:
        answer = self.client.post(
            "/external/api/v1/order-status", json={"orderId": order_id}, headers={"x-api-key": key}
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()["body"]
        return body

    def finished(self, key: str, order_id: str, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(key, order_id)
            if body["status"] != "init" or time.monotonic() > deadline:
                return body
            time.sleep(0.1)

    def fetch(self, url: str) -> httpx.Response:
        """GET an image URL as a browser would: through the node, following its redirect."""
        answer = self.client.get(url, follow_redirects=False)
        if answer.status_code == 307:
            return httpx.get(answer.headers["location"])
        return answer

    def credits(self, key: str) -> float:
        answer = self.client.get("/external/api/v1/account", headers={"x-api-key": key})
        credits: float = answer.json()["body"]["credits"]
        return credits


def node_settings(
    data_dir: Path,
    database_url: str,
    queue: str,
    broker: str | None,
    store: str,
    s3_endpoint: str | None,
) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        signing_secret=SECRET,
        queue=QueueSettings(
            backend=queue,  # type: ignore[arg-type]
            broker_url=BROKERS[broker] if broker else QueueSettings().broker_url,
            name=unique("bd-q"),
            lease_seconds=10,
            recover_interval_seconds=1,
        ),
        storage=StorageSettings(
            backend=store,  # type: ignore[arg-type]
            bucket=unique("bd-b"),
            endpoint_url=s3_endpoint,
        ),
    )


@contextmanager
def running_node(settings: Settings, segmenter: Segmenter, clock: Clock) -> Iterator[Node]:
    """An API node started, with a Celery worker beside it when the queue is celery."""
    with ExitStack() as stack:
        runtime = build_node(settings, segmenter=segmenter, clock=clock)
        runtime.start()
        stack.callback(runtime.stop)
        if settings.queue.backend == "celery":
            stack.enter_context(_celery_worker(settings, segmenter, clock))
        client = stack.enter_context(TestClient(create_app(runtime.api)))
        yield Node(client, runtime, settings)


@contextmanager
def _celery_worker(settings: Settings, segmenter: Segmenter, clock: Clock) -> Iterator[None]:
    from celery.contrib.testing.worker import start_worker

    from backdrop.queue.celery_queue import celery_app, register_task

    worker = build_worker(settings, segmenter=segmenter, clock=clock)
    app = celery_app(settings.queue)
    register_task(app, worker.runs.run)
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        worker.stop()
        with app.connection() as connection:
            connection.default_channel.queue_delete(settings.queue.name)
        app.close()
