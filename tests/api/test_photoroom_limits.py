"""A Photoroom request too large is refused in Photoroom's shape, before or while it is read."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backdrop.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # 10 kB images: a body over 30 kB (3x, room for two images and the fields) is refused.
    return Settings(
        data_dir=tmp_path / "data",
        public_url=None,
        database_url=None,
        limits={"max_upload_bytes": 10_000},
    )


@pytest.mark.parametrize("path, edit", [("/v1/segment", False), ("/v2/edit", True)])
def test_a_body_over_the_limit_is_refused_in_photoroom_shape(
    client: TestClient, api_key: str, path: str, edit: bool
) -> None:
    name = "imageFile" if edit else "image_file"
    response = client.post(
        path,
        headers={"x-api-key": api_key},
        files={name: ("big.jpg", b"\xff\xd8" + b"0" * 40_000, "image/jpeg")},
    )
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status_code"] == 400 and "exceeds 30000 bytes" in body["detail"]
    assert ("error" in body) is edit
