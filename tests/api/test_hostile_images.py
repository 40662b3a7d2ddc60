"""Images shaped to make decoders slow: refused at the PUT in milliseconds, failed uncharged in
the worker when they got into the store another way, and never slowing another key down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from backdrop.db.models import StoredImage
from backdrop.engines.segmentation import Segmenter
from backdrop.kinds import FailureCode, OrderStatus
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.conftest import FakeClock, embedded, jpeg_bytes, place_removal, subject_photo
from tests.imaging import hostile

UPLOAD = "/external/api/v2/uploadImageUrl"

CASES: dict[str, tuple[Callable[[], bytes], str, int]] = {
    "jpeg-3000-scans": (hostile.many_scans_jpeg, "image/jpeg", 4009),
    "jpeg-sof-60000x60000": (lambda: hostile.jpeg_claiming(60_000, 60_000), "image/jpeg", 4014),
    "png-5000-idat-chunks": (hostile.tiny_chunks_png, "image/png", 4009),
    "apng-150-frames": (lambda: hostile.animation("PNG", 150), "image/png", 4009),
    "webp-150-frames": (lambda: hostile.animation("WEBP", 150), "image/webp", 4009),
}


def _grant(client: httpx.Client | TestClient, key: str, size: int, content_type: str) -> str:
    response = client.post(
        UPLOAD,
        json={"uploadType": "imageUrl", "size": size, "contentType": content_type},
        headers={"x-api-key": key},
    )
    assert response.status_code == 200, response.text
    url: str = response.json()["body"]["uploadImage"]
    return url


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_uploads_are_refused_at_once(
    client: TestClient, api_key: str, settings: Settings, name: str
) -> None:
    build, content_type, status_code = CASES[name]
    data = build()
    url = _grant(client, api_key, len(data), content_type)
    cpu, wall = time.process_time(), time.monotonic()
    put = client.put(url, content=data, headers={"Content-Type": content_type})
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert put.status_code in (400, 413), put.text
    assert put.json()["statusCode"] == status_code
    assert str(settings.data_dir) not in put.text
    assert cpu < 0.5 and wall < 2.0


@pytest.mark.parametrize("name", ["jpeg-3000-scans", "png-5000-idat-chunks", "webp-150-frames"])
def test_an_image_that_skipped_the_upload_check_fails_its_order_uncharged(
    settings: Settings, segmenter: Segmenter, clock: FakeClock, name: str
) -> None:
    build, content_type, _ = CASES[name]
    data = build()
    node = embedded(settings, segmenter, clock)
    try:
        key = node.keys.create("k", 5).info
        object_key = node.uploads.request_upload(key.id, len(data), content_type).grant.object_key
        # As a direct upload to a bucket would: the bytes arrive without the API's check.
        node.store.write(object_key, data, content_type)
        with node.db.unit_of_work() as session:
            image = session.get(StoredImage, object_key)
            assert image is not None
            image.uploaded = True
        order = place_removal(node, key.id, object_key)
        started = time.monotonic()
        node.runner.run(order.id)
        assert time.monotonic() - started < 5
        done = node.orders.status(key.id, order.id)
        assert done.status == OrderStatus.FAILED
        assert done.failure_code == FailureCode.INVALID_IMAGE
        assert done.failure_reason and str(settings.data_dir) not in done.failure_reason
        assert node.keys.get(key.id).credits == 5
    finally:
        node.db.dispose()


def test_another_key_is_answered_promptly_during_hostile_uploads(
    base_url: str, runtime: EmbeddedNode
) -> None:
    # Six attackers, each with its own key (so that per-key rate limits do not stop them),
    # three hostile PUTs each: the shape of the reported attack, bounded in count and time.
    attackers = [runtime.keys.create(f"attacker-{n}", 10).secret for n in range(6)]
    other_key = runtime.keys.create("other", 10).secret
    bad = hostile.many_scans_jpeg(2048, 6000)
    good = jpeg_bytes(subject_photo(320, 240)[0])
    statuses: list[int] = []

    def attack(key: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            for _ in range(3):
                url = _grant(http, key, len(bad), "image/jpeg")
                put = http.put(url, content=bad, headers={"Content-Type": "image/jpeg"})
                statuses.append(put.status_code)

    threads = [threading.Thread(target=attack, args=(key,)) for key in attackers]
    for thread in threads:
        thread.start()
    try:
        with httpx.Client(base_url=base_url, timeout=30) as http:
            started = time.monotonic()
            url = _grant(http, other_key, len(good), "image/jpeg")
            put = http.put(url, content=good, headers={"Content-Type": "image/jpeg"})
            elapsed = time.monotonic() - started
    finally:
        for thread in threads:
            thread.join(60)
    assert put.status_code == 200, put.text
    assert elapsed < 3.0
    assert statuses == [400] * 18


def test_valid_uploads_still_pass_in_every_type(client: TestClient, api_key: str) -> None:
    for pil_format, content_type in (("JPEG", "image/jpeg"), ("PNG", "image/png")):
        data = hostile.encode(hostile.noise(64, 48), pil_format, progressive=True)
        url = _grant(client, api_key, len(data), content_type)
        put = client.put(url, content=data, headers={"Content-Type": content_type})
        assert put.status_code == 200, put.text
    data = hostile.encode(hostile.noise(64, 48), "WEBP")
    url = _grant(client, api_key, len(data), "image/webp")
    assert client.put(url, content=data, headers={"Content-Type": "image/webp"}).status_code == 200
