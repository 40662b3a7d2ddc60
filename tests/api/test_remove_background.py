from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backdrop.serving.node import EmbeddedNode
from tests.api.flow import finished, order, upload
from tests.conftest import jpeg_bytes, png_bytes, subject_photo

REMOVE = "/external/api/v1/remove-background"


def _fetch(client: TestClient, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def _iou(alpha: np.ndarray, truth: np.ndarray) -> float:
    predicted, actual = alpha >= 128, truth >= 128
    return float((predicted & actual).sum() / (predicted | actual).sum())


def test_transparent_cutout_and_mask(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    photo, truth = subject_photo()
    image_url = upload(client, api_key, jpeg_bytes(photo))
    runtime.settings.worker.max_retries_allowed = 7  # the answer says what the server allows
    created = order(client, api_key, "remove-background", {"imageUrl": image_url, "background": ""})
    assert created["status"] == "init"
    assert created["maxRetriesAllowed"] == 7
    assert isinstance(created["avgResponseTimeInSec"], int) and created["avgResponseTimeInSec"] >= 1
    assert len(created["orderId"]) == 25

    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "active", status
    output = _fetch(client, status["output"])
    mask = _fetch(client, status["mask"])
    assert output.format == "PNG" and output.mode == "RGBA"
    assert output.size == photo.size and mask.size == photo.size
    alpha = np.asarray(output.getchannel("A"))
    assert _iou(alpha, truth) > 0.9
    assert np.array_equal(alpha, np.asarray(mask.convert("L")))


@pytest.mark.parametrize(
    ("background", "expected"),
    [("#00ff00", (0, 255, 0)), ("royalblue", (65, 105, 225)), ("#F00", (255, 0, 0))],
)
def test_colour_background(
    client: TestClient,
    runtime: EmbeddedNode,
    api_key: str,
    background: str,
    expected: tuple[int, int, int],
) -> None:
    photo, truth = subject_photo()
    image_url = upload(client, api_key, jpeg_bytes(photo))
    created = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "background": background}
    )
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "active"
    output = np.asarray(_fetch(client, status["output"]).convert("RGB")).astype(int)
    corner = output[:20, :20].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - expected).max() < 3
    centre = output[truth > 0].mean(axis=0)
    assert np.abs(centre - expected).max() > 60  # the subject is still there


def test_image_background_from_same_key(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    photo, _truth = subject_photo()
    image_url = upload(client, api_key, jpeg_bytes(photo))
    backdrop_image = Image.new("RGB", (300, 900), (10, 200, 30))
    backdrop_url = upload(client, api_key, png_bytes(backdrop_image), "image/png")
    created = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "background": backdrop_url}
    )
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "active", status
    output = np.asarray(_fetch(client, status["output"]).convert("RGB")).astype(int)
    assert output.shape[:2] == (photo.height, photo.width)
    assert np.abs(output[5, 5] - (10, 200, 30)).max() < 4


def test_result_urls_can_be_used_as_background(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    photo, _ = subject_photo()
    image_url = upload(client, api_key, jpeg_bytes(photo))
    first = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "background": "white"}
    )
    output_url = finished(client, runtime, api_key, first["orderId"])["output"]
    second = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "background": output_url}
    )
    assert finished(client, runtime, api_key, second["orderId"])["status"] == "active"


def test_rgba_png_input_keeps_its_transparency(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    photo, _ = subject_photo()
    rgba = photo.convert("RGBA")
    pixels = np.asarray(rgba).copy()
    pixels[:, : photo.width // 2, 3] = 0  # left half already transparent
    image_url = upload(client, api_key, png_bytes(Image.fromarray(pixels)), "image/png")
    created = order(client, api_key, "remove-background", {"imageUrl": image_url})
    status = finished(client, runtime, api_key, created["orderId"])
    alpha = np.asarray(_fetch(client, status["output"]).getchannel("A"))
    assert alpha[:, : photo.width // 2].max() == 0
    assert alpha[:, photo.width // 2 :].max() == 255
