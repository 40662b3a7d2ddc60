"""Admission through the API: waiting orders per key, the expected time, health and metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backdrop.api.app import create_app
from backdrop.engines.segmentation import Segmenter
from backdrop.serving.node import build_node
from backdrop.settings import Settings
from tests.api.flow import metric, upload
from tests.conftest import FakeClock, jpeg_bytes, subject_photo

REMOVE = "/external/api/v1/remove-background"


def test_waiting_orders_per_key_and_the_time_bound(
    settings: Settings, segmenter: Segmenter, clock: FakeClock
) -> None:
    settings.rate_limits.waiting_orders = 2
    settings.worker.max_wait_seconds = 12  # 5 s per order until one is measured
    stalled = build_node(settings, segmenter=segmenter, clock=clock)  # workers never run
    with TestClient(create_app(stalled.api)) as client:
        first, second = (stalled.keys.create(name, 5).secret for name in ("first", "second"))
        # 1 MP each: the size the default 5 s is quoted for.
        image = upload(client, first, jpeg_bytes(subject_photo(1000, 1000)[0]))
        refused = "backdrop_limit_refusals_total"
        before = {
            limit: metric(client, refused, limit=limit)
            for limit in ("waiting_orders", "queue_wait")
        }
        other = upload(client, second, jpeg_bytes(subject_photo(1000, 1000)[0]))
        answers = [
            client.post(REMOVE, json={"imageUrl": image}, headers={"x-api-key": first})
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [200, 200, 429]
        # Expected time = orders ahead (5 s each, nothing measured yet) + its own run.
        assert [a.json()["body"]["avgResponseTimeInSec"] for a in answers[:2]] == [5, 10]
        assert answers[2].json()["statusCode"] == 4029 and "Retry-After" in answers[2].headers
        # Another key goes round-robin after one of first's: 10 s; a second one would be 15 s.
        fits = client.post(REMOVE, json={"imageUrl": other}, headers={"x-api-key": second})
        assert fits.json()["body"]["avgResponseTimeInSec"] == 10
        late = client.post(REMOVE, json={"imageUrl": other}, headers={"x-api-key": second})
        assert late.status_code == 503 and int(late.headers["Retry-After"]) >= 1
        # Each refusal counted once, under its limit; three orders wait.
        assert metric(client, refused, limit="waiting_orders") == before["waiting_orders"] + 1
        assert metric(client, refused, limit="queue_wait") == before["queue_wait"] + 1
        assert metric(client, "backdrop_queue_depth") == 3
    stalled.db.dispose()


def test_liveness_readiness_and_request_metrics(client: TestClient, api_key: str) -> None:
    account = "/external/api/v1/account"
    labels = {"method": "GET", "route": account}
    answered = metric(client, "backdrop_http_requests_total", **labels, status="200")
    refused = metric(client, "backdrop_http_requests_total", **labels, status="403")
    timed = metric(client, "backdrop_http_request_duration_seconds_count", **labels)
    assert client.get("/livez").json()["body"] == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    answer = client.get(account, headers={"x-api-key": api_key})
    assert answer.status_code == 200 and answer.headers["x-request-id"]
    assert answer.headers["x-request-id"] != client.get(account).headers["x-request-id"]
    assert client.get(account, headers={"X-Request-ID": "abc-1"}).headers["x-request-id"] == (
        "abc-1"
    )
    # Counted by route template and status: one answered, two refused (no key), three timed.
    assert metric(client, "backdrop_http_requests_total", **labels, status="200") == answered + 1
    assert metric(client, "backdrop_http_requests_total", **labels, status="403") == refused + 2
    assert metric(client, "backdrop_http_request_duration_seconds_count", **labels) == timed + 3
