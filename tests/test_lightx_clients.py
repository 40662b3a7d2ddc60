"""A LightX client, changed only in its base URL, against a real `backdrop serve` process.

The sequence is the one LightX's published sample clients follow: uploadImageUrl, PUT the
file with its Content-Type, create the order, then poll order-status every 3 s, at most 5
times, until the status is active or failed.
"""

from __future__ import annotations

import io
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tests.conftest import jpeg_bytes, subject_photo
from tests.servers import Server, start_server

MAX_RETRIES = 5
RETRY_INTERVAL = 3.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("serve") / "data")
    yield running
    running.stop()


class LightXStyleClient:
    """Written as a LightX user would, against `<base>/external/api`."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = f"{base_url}/external/api"
        self.headers = {"Content-Type": "application/json", "x-api-key": api_key}

    def _post(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.base_url}{path}", json=payload, headers=self.headers)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        assert data["statusCode"] == 2000 and data["message"] == "SUCCESS", data
        body: dict[str, Any] = data["body"]
        return body

    def upload_image(self, path: Path, content_type: str = "image/jpeg") -> str:
        body = self._post(
            "/v2/uploadImageUrl",
            {"uploadType": "imageUrl", "size": path.stat().st_size, "contentType": content_type},
        )
        with path.open("rb") as image_file:
            put = httpx.put(
                body["uploadImage"],
                content=image_file.read(),
                headers={"Content-Type": content_type},
            )
        put.raise_for_status()
        image_url: str = body["imageUrl"]
        return image_url

    def create(self, operation: str, payload: dict[str, Any]) -> str:
        body = self._post(f"/v1/{operation}", payload)
        assert set(body) == {"orderId", "maxRetriesAllowed", "avgResponseTimeInSec", "status"}
        assert body["status"] == "init" and body["maxRetriesAllowed"] == MAX_RETRIES
        order_id: str = body["orderId"]
        return order_id

    def wait_for_completion(self, order_id: str) -> dict[str, Any]:
        for attempt in range(MAX_RETRIES):
            status = self._post("/v1/order-status", {"orderId": order_id})
            if status["status"] in {"active", "failed"}:
                return status
            if attempt < MAX_RETRIES - 1:
                time.sleep(RETRY_INTERVAL)
        raise AssertionError("maximum retry attempts reached")


def test_remove_background_as_a_lightx_client(server: Server, tmp_path: Path) -> None:
    photo, truth = subject_photo()
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes(photo))
    client = LightXStyleClient(server.base_url, server.api_key)
    image_url = client.upload_image(path)
    order_id = client.create("remove-background", {"imageUrl": image_url, "background": "white"})
    result = client.wait_for_completion(order_id)
    assert result["status"] == "active"
    output = Image.open(io.BytesIO(httpx.get(result["output"]).content))
    mask = np.asarray(Image.open(io.BytesIO(httpx.get(result["mask"]).content)).convert("L"))
    assert output.size == photo.size
    predicted, actual = mask >= 128, truth >= 128
    assert (predicted & actual).sum() / (predicted | actual).sum() > 0.9


def test_background_generator_as_a_lightx_client(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    subject_photo()[0].save(path, "PNG")
    client = LightXStyleClient(server.base_url, server.api_key)
    image_url = client.upload_image(path, "image/png")
    order_id = client.create(
        "background-generator",
        {"imageUrl": image_url, "textPrompt": "Beautiful sunset over mountains"},
    )
    result = client.wait_for_completion(order_id)
    assert result["status"] == "active"
    output = httpx.get(result["output"])
    assert output.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(output.content)).size == (640, 480)
    account = httpx.get(
        f"{server.base_url}/external/api/v1/account", headers={"x-api-key": server.api_key}
    )
    # Removals and this generation were charged; the node test may run before or after.
    assert account.json()["body"]["credits"] in {100 - 0.5 - 1, 100 - 0.5 - 0.5 - 1}


def test_remove_background_from_a_node_client(server: Server, tmp_path: Path) -> None:
    import json
    import shutil

    node = shutil.which("node")
    assert node, "Node.js is needed for this test (it is on the project's machines)"
    photo, _ = subject_photo()
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg_bytes(photo))
    script = Path(__file__).parent / "clients" / "lightx_client.mjs"
    run = subprocess.run(
        [node, str(script), server.base_url, server.api_key, str(path), "#0000ff"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    status = json.loads(run.stdout.strip().splitlines()[-1])
    assert status["status"] == "active"
    output = np.asarray(Image.open(io.BytesIO(httpx.get(status["output"]).content)).convert("RGB"))
    assert tuple(output[2, 2]) == (0, 0, 255)
