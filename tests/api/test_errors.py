"""Bad input gets a clear error in the envelope, a proper HTTP status, and costs nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backdrop.serving.node import EmbeddedNode
from tests.api.flow import upload
from tests.conftest import jpeg_bytes, subject_photo

REMOVE = "/external/api/v1/remove-background"
GENERATE = "/external/api/v1/background-generator"


def _post(
    client: TestClient,
    path: str,
    key: str | None,
    headers: dict[str, str] | None = None,
    **kwargs: object,
) -> tuple[int, dict]:
    all_headers = {**(headers or {}), **({"x-api-key": key} if key else {})}
    response = client.post(path, headers=all_headers, **kwargs)  # type: ignore[arg-type]
    return response.status_code, response.json()


@pytest.mark.parametrize("key", [None, "", "bd_not-a-real-key"])
def test_missing_or_unknown_key(client: TestClient, key: str | None) -> None:
    for path in [
        REMOVE,
        GENERATE,
        "/external/api/v1/order-status",
        "/external/api/v2/uploadImageUrl",
    ]:
        status, body = _post(client, path, key, json={})
        assert status == 403, path
        assert body["statusCode"] == 4003
    response = client.get("/external/api/v1/account", headers={"x-api-key": key or ""})
    assert response.status_code == 403


def test_malformed_json(client: TestClient, api_key: str) -> None:
    status, body = _post(
        client, REMOVE, api_key, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert body == {
        "statusCode": 4000,
        "message": "INVALID_REQUEST",
        "body": {"detail": "the request body is not valid JSON"},
    }


def test_wrong_field_types(client: TestClient, api_key: str) -> None:
    status, body = _post(client, REMOVE, api_key, json={"imageUrl": 5})
    assert status == 400 and "imageUrl" in body["body"]["detail"]
    status, body = _post(
        client,
        "/external/api/v2/uploadImageUrl",
        api_key,
        json={"size": "big", "contentType": "image/png"},
    )
    assert status == 400 and "size" in body["body"]["detail"]
    status, body = _post(
        client,
        "/external/api/v2/uploadImageUrl",
        api_key,
        json={"uploadType": "file", "size": 5, "contentType": "image/png"},
    )
    assert status == 400


def test_giant_json_body_is_refused(client: TestClient, api_key: str) -> None:
    status, body = _post(
        client, GENERATE, api_key, json={"imageUrl": "x", "textPrompt": "a" * 200_000}
    )
    assert status == 413 and body["statusCode"] == 4013


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/cat.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:22/images/uploads/abc.jpg",
        "file:///etc/passwd",
        "not a url",
        "http://testserver/images/uploads/" + "0" * 32 + ".jpg",
    ],
)
def test_foreign_or_unknown_image_urls(client: TestClient, api_key: str, url: str) -> None:
    # Not an http(s) URL: malformed by the schema. Any other URL: no such image for this key.
    expected = (404, 4006) if url.startswith("http") else (400, 4000)
    status, body = _post(client, REMOVE, api_key, json={"imageUrl": url})
    assert (status, body["statusCode"]) == expected
    status, body = _post(client, GENERATE, api_key, json={"imageUrl": url, "textPrompt": "beach"})
    assert (status, body["statusCode"]) == expected


def test_foreign_background_url_and_unknown_colour(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    status, body = _post(
        client,
        REMOVE,
        api_key,
        json={"imageUrl": image_url, "background": "http://10.0.0.1/bg.png"},
    )
    assert status == 404 and body["statusCode"] == 4006
    status, body = _post(
        client, REMOVE, api_key, json={"imageUrl": image_url, "background": "blurple"}
    )
    assert status == 400 and body["statusCode"] == 4008
    assert "#RRGGBB" in body["body"]["detail"]
    assert runtime.keys.authenticate(api_key).credits == 10


def test_other_keys_images_are_refused(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    other = runtime.keys.create("other", 5).secret
    status, body = _post(client, REMOVE, other, json={"imageUrl": image_url})
    assert status == 404 and body["statusCode"] == 4006
    own_url = upload(client, other, jpeg_bytes(subject_photo()[0]))
    status, body = _post(client, REMOVE, other, json={"imageUrl": own_url, "background": image_url})
    assert status == 404 and body["statusCode"] == 4006


def test_unuploaded_image_url(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/external/api/v2/uploadImageUrl",
        json={"uploadType": "imageUrl", "size": 100, "contentType": "image/jpeg"},
        headers={"x-api-key": api_key},
    )
    image_url = response.json()["body"]["imageUrl"]
    status, body = _post(client, REMOVE, api_key, json={"imageUrl": image_url})
    assert status == 404 and "nothing has been uploaded" in body["body"]["detail"]


@pytest.mark.parametrize(
    "prompt", [None, "", "   ", "x" * 1001, "sunset\x00over hills", "beach\x1b[31m", "a\u202eb"]
)
def test_refused_prompts_answer_5041_and_charge_nothing(
    client: TestClient, runtime: EmbeddedNode, api_key: str, prompt: str | None
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    payload = (
        {"imageUrl": image_url} if prompt is None else {"imageUrl": image_url, "textPrompt": prompt}
    )
    status, body = _post(client, GENERATE, api_key, json=payload)
    assert status == 400
    assert body["statusCode"] == 5041 and body["message"] == "INVALID_PROMPTS_DETECTED"
    assert runtime.keys.authenticate(api_key).credits == 10


def test_unknown_route_and_method(client: TestClient) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.json()["statusCode"] == 4040
    response = client.get(REMOVE)
    assert response.status_code == 405 and response.json()["statusCode"] == 4050
