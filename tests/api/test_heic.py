"""HEIC (the iPhone default) through every route that takes an image; remove.bg's rate headers."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from backdrop.serving.node import EmbeddedNode
from tests.api.flow import finished, order, upload
from tests.conftest import subject_photo
from tests.heic import heic_bytes

UPLOAD = "/external/api/v2/uploadImageUrl"


def _heic() -> bytes:
    return heic_bytes(subject_photo()[0])


def test_lightx_upload_put_and_order_with_heic(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    for content_type in ("image/heic", "image/heif"):
        image_url = upload(client, api_key, _heic(), content_type)
    created = order(client, api_key, "remove-background", {"imageUrl": image_url})
    done = finished(client, runtime, api_key, created["orderId"])
    assert done["status"] == "active", done.get("reason")
    cutout = Image.open(io.BytesIO(client.get(done["output"]).content))
    assert cutout.size == (640, 480)


def test_put_refuses_a_jpeg_declared_as_heic(client: TestClient, api_key: str) -> None:
    data = io.BytesIO()
    subject_photo()[0].save(data, "JPEG")
    body = client.post(
        UPLOAD,
        json={"uploadType": "imageUrl", "size": len(data.getvalue()), "contentType": "image/heic"},
        headers={"x-api-key": api_key},
    ).json()["body"]
    put = client.put(
        body["uploadImage"], content=data.getvalue(), headers={"Content-Type": "image/heic"}
    )
    assert put.status_code == 415


def test_removebg_takes_heic_and_answers_rate_limit_headers(
    client: TestClient, api_key: str
) -> None:
    response = client.post(
        "/v1.0/removebg",
        headers={"X-Api-Key": api_key},
        files={"image_file": ("IMG_0001.HEIC", _heic(), "image/heic")},
    )
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (640, 480)
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert response.headers[name].isdigit(), name
