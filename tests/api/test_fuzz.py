"""Whatever a client sends, the answer is an envelope and never a 500."""

from __future__ import annotations

import json
import random
from typing import Any

from fastapi.testclient import TestClient

from backdrop.serving.node import EmbeddedNode

ENDPOINTS = [
    "/external/api/v2/uploadImageUrl",
    "/external/api/v1/remove-background",
    "/external/api/v1/background-generator",
    "/external/api/v1/order-status",
]
FIELDS = ["uploadType", "size", "contentType", "imageUrl", "background", "textPrompt", "orderId"]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    choices: list[Any] = [
        None,
        True,
        rng.randint(-(2**70), 2**70),
        rng.random() * 1e308,
        "",
        "x" * rng.randint(1, 3000),
        "\x00\x01\u202e\ud7ff",
        "http://127.0.0.1/images/uploads/../../x.jpg",
        "http://testserver/images/uploads/abc.jpg",
        "image/jpeg",
        "#zzzzzz",
    ]
    if depth < 2:
        choices += [[_random_value(rng, depth + 1)], {"k": _random_value(rng, depth + 1)}]
    return rng.choice(choices)


def test_random_bodies_never_cause_a_server_error(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    rng = random.Random(1234)
    for _ in range(300):
        path = rng.choice(ENDPOINTS)
        body = {field: _random_value(rng) for field in rng.sample(FIELDS, rng.randint(0, 4))}
        payload = json.dumps(body) if rng.random() < 0.9 else json.dumps(body)[:-1]
        response = client.post(
            path,
            content=payload,
            headers={"x-api-key": api_key, "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (path, body, response.text)
        envelope = response.json()
        assert set(envelope) == {"statusCode", "message", "body"}
        if response.status_code == 200:
            runtime.pool.join()


def test_random_upload_urls_never_cause_a_server_error(client: TestClient) -> None:
    rng = random.Random(99)
    for _ in range(100):
        query = "&".join(
            f"{name}={rng.choice(['', '1', '-1', 'abc', '9' * 40, '%00'])}"
            for name in ("keyId", "size", "contentType", "expires", "signature")
        )
        name = rng.choice(["a.jpg", "x" * 200, "..", "%2e%2e", "ok.png"])
        response = client.put(f"/images/uploads/{name}?{query}", content=b"12345")
        assert response.status_code < 500, (name, query, response.text)


REMOVEBG_FIELDS = [
    "image_url", "image_file_b64", "size", "type", "format", "roi", "crop", "crop_margin",
    "scale", "position", "channels", "bg_color", "bg_image_url", "add_shadow", "model",
]  # fmt: skip


def test_random_remove_bg_requests_answer_in_remove_bg_shape(
    client: TestClient, api_key: str
) -> None:
    rng = random.Random(4321)
    for _ in range(150):
        body = {
            field: _random_value(rng) for field in rng.sample(REMOVEBG_FIELDS, rng.randint(0, 5))
        }
        if rng.random() < 0.5:
            payload = json.dumps(body) if rng.random() < 0.9 else json.dumps(body)[:-1]
            response = client.post(
                "/v1.0/removebg",
                content=payload,
                headers={"X-Api-Key": api_key, "Content-Type": "application/json"},
            )
        else:
            form = {k: str(v) for k, v in body.items()}
            response = client.post("/v1.0/removebg", data=form, headers={"X-Api-Key": api_key})
        assert response.status_code < 500, (body, response.text)
        if response.status_code != 200:
            errors = response.json()["errors"]
            assert set(errors[0]) == {"title", "code", "detail"}, (body, response.text)
