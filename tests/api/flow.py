"""The LightX client sequence, as helpers for API tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from backdrop.serving.node import EmbeddedNode


def upload(client: TestClient, key: str, data: bytes, content_type: str = "image/jpeg") -> str:
    """uploadImageUrl + PUT; returns the imageUrl."""
    response = client.post(
        "/external/api/v2/uploadImageUrl",
        json={"uploadType": "imageUrl", "size": len(data), "contentType": content_type},
        headers={"x-api-key": key},
    )
    assert response.status_code == 200, response.text
    body = response.json()["body"]
    put = client.put(body["uploadImage"], content=data, headers={"Content-Type": content_type})
    assert put.status_code == 200, put.text
    image_url: str = body["imageUrl"]
    return image_url


def order(client: TestClient, key: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"/external/api/v1/{path}", json=payload, headers={"x-api-key": key})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["body"]
    return body


def finished(client: TestClient, runtime: EmbeddedNode, key: str, order_id: str) -> dict[str, Any]:
    """Wait for the worker pool to drain, then read the order's status."""
    runtime.pool.join()
    response = client.post(
        "/external/api/v1/order-status", json={"orderId": order_id}, headers={"x-api-key": key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["body"]
    return body


def metric(client: TestClient, name: str, **labels: str) -> float:
    """One sample of /metrics (0 when it has none yet). Metrics are per process, so a test
    compares values before and after what it does, never just looks for a name."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0
