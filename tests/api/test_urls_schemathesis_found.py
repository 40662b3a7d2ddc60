"""Server errors (500) that schemathesis found (tests/serving/test_schema.py), fixed: each
request now gets the 4xx of its route's error shape."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

# An unclosed IPv6 bracket: urllib.parse.urlsplit raises ValueError("Invalid IPv6 URL").
BAD_URL = "http://[x/images/uploads/a.jpg"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/external/api/v1/remove-background", {"imageUrl": BAD_URL}),
        ("/external/api/v1/background-generator", {"imageUrl": BAD_URL, "textPrompt": "a"}),
        (
            "/external/api/v1/product-photoshoot",
            {"imageUrl": "http://testserver/images/uploads/a.jpg", "styleImageUrl": BAD_URL},
        ),
    ],
)
def test_an_image_url_that_urlsplit_refuses_names_no_image(
    client: TestClient, api_key: str, path: str, body: dict[str, Any]
) -> None:
    response = client.post(path, json=body, headers={"x-api-key": api_key})
    assert (response.status_code, response.json()["statusCode"]) == (404, 4006)


def test_remove_bg_image_url_that_urlsplit_refuses(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/v1.0/removebg", data={"image_url": BAD_URL}, headers={"X-Api-Key": api_key}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_image_url"


def test_remove_bg_data_url_without_a_comma(client: TestClient, api_key: str) -> None:
    response = client.post(
        "/v1.0/removebg", data={"image_file_b64": "data:image/png"}, headers={"X-Api-Key": api_key}
    )
    assert response.status_code == 400
