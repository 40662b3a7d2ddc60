"""Orders end to end: credits, isolation, failures, restart recovery, generation, account."""

from __future__ import annotations

import io
import math

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

import backdrop
from backdrop.api.app import create_app
from backdrop.engines.segmentation import Segmenter
from backdrop.serving.node import EmbeddedNode, build_node
from backdrop.settings import Settings
from tests.api.flow import finished, order, upload
from tests.conftest import FakeClock, embedded, jpeg_bytes, subject_photo

STATUS = "/external/api/v1/order-status"


def _balance(client: TestClient, key: str) -> float:
    response = client.get("/external/api/v1/account", headers={"x-api-key": key})
    assert response.status_code == 200
    credits: float = response.json()["body"]["credits"]
    return credits


def test_removal_charges_half_a_credit_and_generation_one(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    assert _balance(client, api_key) == 10
    removal = order(client, api_key, "remove-background", {"imageUrl": image_url})
    assert finished(client, runtime, api_key, removal["orderId"])["status"] == "active"
    assert _balance(client, api_key) == 9.5
    generation = order(
        client,
        api_key,
        "background-generator",
        {"imageUrl": image_url, "textPrompt": "sunset beach"},
    )
    status = finished(client, runtime, api_key, generation["orderId"])
    assert status["status"] == "active", status
    assert _balance(client, api_key) == 8.5
    output = client.get(status["output"])
    assert output.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(output.content))
    assert image.format == "JPEG" and image.size == (640, 480)


def test_out_of_credits_is_402_at_creation(client: TestClient, runtime: EmbeddedNode) -> None:
    key = runtime.keys.create("poor", 0.5).secret
    image_url = upload(client, key, jpeg_bytes(subject_photo()[0]))
    generation = client.post(
        "/external/api/v1/background-generator",
        json={"imageUrl": image_url, "textPrompt": "studio"},
        headers={"x-api-key": key},
    )
    assert generation.status_code == 402
    assert generation.json()["statusCode"] == 5040
    assert generation.json()["message"] == "API_CREDITS_CONSUMED"
    first = order(client, key, "remove-background", {"imageUrl": image_url})
    # The pending order has reserved the last half credit.
    second = client.post(
        "/external/api/v1/remove-background",
        json={"imageUrl": image_url},
        headers={"x-api-key": key},
    )
    assert second.status_code == 402
    assert finished(client, runtime, key, first["orderId"])["status"] == "active"
    assert _balance(client, key) == 0


def test_failed_order_charges_nothing_and_says_why(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    runtime.settings.limits.max_pixels = 1000  # the stored image is now too large to process
    created = order(client, api_key, "remove-background", {"imageUrl": image_url})
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "failed"
    assert status["output"] is None and status["mask"] is None
    assert "pixels" in status["reason"]
    assert _balance(client, api_key) == 10


def test_orders_are_private_to_their_key(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    created = order(client, api_key, "remove-background", {"imageUrl": image_url})
    other = runtime.keys.create("other", 5).secret
    theirs = client.post(STATUS, json={"orderId": created["orderId"]}, headers={"x-api-key": other})
    unknown = client.post(STATUS, json={"orderId": "f" * 25}, headers={"x-api-key": other})
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json()["statusCode"] == unknown.json()["statusCode"] == 4004
    assert theirs.json()["message"] == unknown.json()["message"]
    assert theirs.json()["body"]["detail"].replace(created["orderId"], "X") == unknown.json()[
        "body"
    ]["detail"].replace("f" * 25, "X")
    runtime.pool.join()


def test_order_status_validation(client: TestClient, api_key: str) -> None:
    for payload in [{}, {"orderId": 5}, {"orderId": "x" * 65}]:
        response = client.post(STATUS, json=payload, headers={"x-api-key": api_key})
        assert response.status_code == 400, payload
    response = client.post(STATUS, json={"orderId": ""}, headers={"x-api-key": api_key})
    assert response.status_code == 404


def test_avg_response_time_is_the_measured_run_time_when_nothing_waits(
    settings: Settings, segmenter: Segmenter, clock: FakeClock
) -> None:
    # A default that no removal of this photo takes, so the two answers can be told apart.
    settings.worker.default_response_seconds = 97
    runtime = embedded(settings, segmenter, clock)
    runtime.start()
    try:
        with TestClient(create_app(runtime.api)) as client:
            api_key = runtime.keys.create("test", 10).secret
            # 1 MP: the size the default is quoted for.
            image_url = upload(client, api_key, jpeg_bytes(subject_photo(1000, 1000)[0]))
            first = order(client, api_key, "remove-background", {"imageUrl": image_url})
            assert first["avgResponseTimeInSec"] == 97
            runtime.pool.join()
            measured = runtime.pool.run_seconds("remove-background", 1.0)
            assert 0 < measured < 60
            second = order(client, api_key, "remove-background", {"imageUrl": image_url})
            assert second["avgResponseTimeInSec"] == max(1, math.ceil(measured))
            runtime.pool.join()
    finally:
        runtime.stop()


def test_orders_left_init_are_resumed_after_a_restart(
    settings: Settings, segmenter: Segmenter, clock: FakeClock
) -> None:
    crashed = build_node(settings, segmenter=segmenter, clock=clock)  # workers never started
    with TestClient(create_app(crashed.api)) as client:
        key = crashed.keys.create("k", 3).secret
        image_url = upload(client, key, jpeg_bytes(subject_photo()[0]))
        ids = [
            order(client, key, "remove-background", {"imageUrl": image_url})["orderId"]
            for _ in range(2)
        ]
        statuses = [
            client.post(STATUS, json={"orderId": i}, headers={"x-api-key": key}).json()["body"][
                "status"
            ]
            for i in ids
        ]
    assert statuses == ["init", "init"]
    crashed.db.dispose()

    restarted = build_node(settings, segmenter=segmenter, clock=clock)
    with TestClient(create_app(restarted.api, restarted)) as client:  # the app starts the runtime
        deadline = __import__("time").monotonic() + 60
        done: list[str] = []
        while __import__("time").monotonic() < deadline:
            done = [
                client.post(STATUS, json={"orderId": i}, headers={"x-api-key": key}).json()["body"][
                    "status"
                ]
                for i in ids
            ]
            if all(s != "init" for s in done):
                break
            __import__("time").sleep(0.2)
        assert done == ["active", "active"]
        assert _balance(client, key) == 2


def test_health_says_whether_orders_are_taken(client: TestClient, runtime: EmbeddedNode) -> None:
    for path in ("/health", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["body"] == {"status": "ok", "version": backdrop.__version__}
    runtime.draining.set()  # what SIGTERM does: no new orders from now on
    try:
        for path in ("/health", "/readyz"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.json()["statusCode"] == 5031
            assert "shutting down" in response.json()["body"]["detail"]
        assert client.get("/livez").status_code == 200  # alive all the same
    finally:
        runtime.draining.clear()


def test_generated_subject_is_kept(client: TestClient, runtime: EmbeddedNode, api_key: str) -> None:
    photo, truth = subject_photo()
    image_url = upload(client, api_key, jpeg_bytes(photo, quality=95))
    created = order(
        client,
        api_key,
        "background-generator",
        {"imageUrl": image_url, "textPrompt": "deep navy blue studio"},
    )
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["mask"] is None
    output = np.asarray(
        Image.open(io.BytesIO(client.get(status["output"]).content)).convert("RGB")
    ).astype(int)
    original = np.asarray(photo).astype(int)
    # Well inside the subject the pixels are the input's (JPEG noise aside).
    inner = np.zeros_like(truth, dtype=bool)
    yy, xx = np.mgrid[0 : truth.shape[0], 0 : truth.shape[1]]
    inner[(xx - 320) ** 2 + (yy - 264) ** 2 < 120**2] = True
    assert np.abs(output[inner] - original[inner]).mean() < 8
    # The background changed toward navy.
    corner = output[:30, :30].reshape(-1, 3).mean(axis=0)
    assert corner[2] > corner[0]
