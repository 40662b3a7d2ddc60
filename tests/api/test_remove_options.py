"""remove-background's optional fields beyond LightX: model, format, crop, size, channels."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backdrop.engines.builtin_models import BUILTIN_MODELS
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.api.flow import finished, order, upload
from tests.conftest import jpeg_bytes, subject_photo
from tests.engines.tiny_onnx import write_tiny_model

REMOVE = "/external/api/v1/remove-background"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The default settings plus a models file: a local tiny model and an uninstalled one."""
    tiny = write_tiny_model(tmp_path / "tiny-u2net.onnx", 320)
    config = tmp_path / "models.json"
    config.write_text(
        json.dumps(
            {
                "tiny-local": {"preset": "u2net", "path": str(tiny)},
                "birefnet-absent": {
                    "preset": "birefnet",
                    "url": "http://127.0.0.1:9/birefnet-absent.onnx",
                    "sha256": "0" * 64,
                },
            }
        )
    )
    return Settings(data_dir=tmp_path / "data", public_url=None, models_config=config)


def _get(client: TestClient, url: str) -> tuple[Image.Image, str]:
    response = client.get(url)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content)), response.headers["content-type"]


def _error(client: TestClient, key: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = client.post(REMOVE, json=payload, headers={"x-api-key": key})
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_output_options(client: TestClient, runtime: EmbeddedNode, api_key: str) -> None:
    photo, truth = subject_photo(800, 600)
    image_url = upload(client, api_key, jpeg_bytes(photo))
    wishes: dict[str, dict[str, Any]] = {
        "webp-preview": {"format": "webp", "size": "preview"},
        "jpg-on-colour": {"format": "jpg", "background": "#00ff00", "size": 400},
        "crop": {"crop": True, "cropMargin": 10},
        "alpha": {"channels": "alpha", "size": "full"},
    }
    orders = {
        name: order(client, api_key, "remove-background", {"imageUrl": image_url, **wish})
        for name, wish in wishes.items()
    }
    statuses = {
        name: finished(client, runtime, api_key, created["orderId"])
        for name, created in orders.items()
    }
    assert all(s["status"] == "active" for s in statuses.values()), statuses

    webp, content_type = _get(client, statuses["webp-preview"]["output"])
    assert statuses["webp-preview"]["output"].endswith(".webp")
    assert (webp.format, webp.mode, content_type) == ("WEBP", "RGBA", "image/webp")
    assert webp.size == (625, 469)
    mask, _ = _get(client, statuses["webp-preview"]["mask"])
    assert mask.size == (625, 469) and mask.mode == "L"
    # WebP keeps the alpha losslessly: it is the mask, at the same size.
    assert np.abs(np.asarray(webp.getchannel("A"), int) - np.asarray(mask, int)).max() <= 1

    jpg, content_type = _get(client, statuses["jpg-on-colour"]["output"])
    assert statuses["jpg-on-colour"]["output"].endswith(".jpg")
    assert (jpg.format, jpg.mode, content_type, jpg.size) == (
        "JPEG",
        "RGB",
        "image/jpeg",
        (400, 300),
    )
    corner = np.asarray(jpg)[:15, :15].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - (0, 255, 0)).max() < 6

    cropped, _ = _get(client, statuses["crop"]["output"])
    cropped_mask, _ = _get(client, statuses["crop"]["mask"])
    rows, cols = np.flatnonzero(truth.any(axis=1)), np.flatnonzero(truth.any(axis=0))
    expected = (cols[-1] - cols[0] + 1 + 20, rows[-1] - rows[0] + 1 + 20)
    assert abs(cropped.size[0] - expected[0]) <= 6 and abs(cropped.size[1] - expected[1]) <= 6
    assert cropped.size == cropped_mask.size
    alpha = np.asarray(cropped.getchannel("A"))
    assert np.array_equal(alpha, np.asarray(cropped_mask))
    assert alpha[:5].max() < 128 and alpha[cropped.height // 2, cropped.width // 2] == 255

    matte, content_type = _get(client, statuses["alpha"]["output"])
    assert (matte.mode, content_type, matte.size) == ("L", "image/png", photo.size)
    full_mask, _ = _get(client, statuses["alpha"]["mask"])
    assert np.array_equal(np.asarray(matte), np.asarray(full_mask))


def test_model_field(client: TestClient, runtime: EmbeddedNode, api_key: str) -> None:
    photo, truth = subject_photo(320, 240)
    image_url = upload(client, api_key, jpeg_bytes(photo))

    status, body = _error(client, api_key, {"imageUrl": image_url, "model": "nope"})
    assert (status, body["statusCode"], body["message"]) == (400, 4020, "UNKNOWN_MODEL")
    known = ", ".join([*BUILTIN_MODELS, "tiny-local", "birefnet-absent"])
    assert body["body"]["detail"] == f"unknown model 'nope'; known models: {known}"
    status, body = _error(client, api_key, {"imageUrl": image_url, "model": "birefnet-absent"})
    assert (status, body["statusCode"]) == (503, 5030)
    assert "backdrop models fetch --model birefnet-absent" in body["body"]["detail"]
    assert str(runtime.settings.models_dir) not in body["body"]["detail"]  # no server paths
    assert "a location on the server (see its log)" in body["body"]["detail"]
    assert "<server path>" not in body["body"]["detail"]

    named = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "model": "isnet-general"}
    )
    tiny = order(
        client, api_key, "remove-background", {"imageUrl": image_url, "model": "tiny-local"}
    )
    named_status = finished(client, runtime, api_key, named["orderId"])
    tiny_status = finished(client, runtime, api_key, tiny["orderId"])
    assert named_status["status"] == tiny_status["status"] == "active"
    named_alpha = np.asarray(_get(client, named_status["mask"])[0])
    tiny_alpha = np.asarray(_get(client, tiny_status["mask"])[0])
    # The real model finds the ball; the tiny one only follows brightness: different engines ran.
    assert ((named_alpha >= 128) == (truth >= 128)).mean() > 0.97
    assert not np.array_equal(named_alpha, tiny_alpha)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("format", "gif"),
        ("size", "huge"),
        ("size", 0),
        ("channels", "rgb"),
        ("cropMargin", -1),
        ("crop", "sometimes"),
    ],
)
def test_bad_option_values_are_refused(
    client: TestClient, api_key: str, field: str, value: object
) -> None:
    status, body = _error(
        client, api_key, {"imageUrl": "http://testserver/images/uploads/x.jpg", field: value}
    )
    assert (status, body["statusCode"]) == (400, 4000)
    assert field in body["body"]["detail"]


def test_product_photo_fields(client: TestClient, runtime: EmbeddedNode, api_key: str) -> None:
    photo, _ = subject_photo(800, 600)
    image_url = upload(client, api_key, jpeg_bytes(photo))
    created = order(
        client,
        api_key,
        "remove-background",
        {"imageUrl": image_url, "canvas": "square-white", "shadow": "contact", "format": "jpg"},
    )
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "active", status
    result, content_type = _get(client, status["output"])
    mask, _ = _get(client, status["mask"])
    assert result.size == mask.size == (2000, 2000) and content_type == "image/jpeg"
    pixels = np.asarray(result.convert("RGB")).astype(int)
    assert (pixels[20, 20] > 245).all()  # the preset's white
    rows = np.flatnonzero((np.asarray(mask) >= 128).any(axis=1))
    # Centred, enlarged 2x (the most a preset enlarges), within the 8 % paddings.
    assert abs((rows[0] + rows[-1] + 1) / 2 - 1000) <= 3
    assert 600 < rows[-1] + 1 - rows[0] <= 1680
    below = pixels[rows[-1] + 4, 990:1010]
    assert below.mean() < 235  # the contact shadow under it


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("canvas", "huge", "WIDTHxHEIGHT"),
        ("canvas", "90000x90000", "over this server's limit"),
        ("padding", "70%", "at most 49%"),
        ("align", "middle", "align"),
        ("shadow", "sideways", "shadow"),
    ],
)
def test_bad_product_fields_are_refused(
    client: TestClient, api_key: str, field: str, value: object, words: str
) -> None:
    status, body = _error(
        client, api_key, {"imageUrl": "http://testserver/images/uploads/x.jpg", field: value}
    )
    assert (status, body["statusCode"]) == (400, 4000), body
    assert field in body["body"]["detail"] and words in body["body"]["detail"], body


def test_product_preview_renders_the_stored_cutout(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    photo, _ = subject_photo(800, 600)
    image_url = upload(client, api_key, jpeg_bytes(photo))
    created = order(client, api_key, "remove-background", {"imageUrl": image_url})
    assert finished(client, runtime, api_key, created["orderId"])["status"] == "active"
    balance = runtime.keys.get(runtime.keys.authenticate(api_key).id).credits

    def preview(**fields: object) -> Image.Image:
        response = client.post(
            "/external/api/v1/product-preview",
            json={"orderId": created["orderId"], **fields},
            headers={"x-api-key": api_key},
        )
        assert response.status_code == 200, response.text
        return Image.open(io.BytesIO(response.content))

    plain = preview(canvas="2000x2000", background="#ffffff")
    shadowed = preview(canvas="2000x2000", background="#ffffff", shadow="drop", padding="20%")
    assert plain.size == shadowed.size == (800, 800) and plain.mode == "RGB"
    assert not np.array_equal(np.asarray(plain), np.asarray(shadowed))
    assert (np.asarray(shadowed.convert("RGB"))[:150, :150] == 255).all()  # the padding is white
    transparent = preview(shadow="floating", longSide=400)
    assert transparent.mode == "RGBA" and max(transparent.size) == 400
    # Previews cost nothing.
    assert runtime.keys.get(runtime.keys.authenticate(api_key).id).credits == balance
    bad = client.post(
        "/external/api/v1/product-preview",
        json={"orderId": created["orderId"], "padding": "80%"},
        headers={"x-api-key": api_key},
    )
    assert bad.status_code == 400 and "padding" in bad.json()["body"]["detail"]
    # A canvas remove-background would refuse is refused here too, though a preview is small.
    huge = client.post(
        "/external/api/v1/product-preview",
        json={"orderId": created["orderId"], "canvas": "99999x99999"},
        headers={"x-api-key": api_key},
    )
    assert huge.status_code == 400, huge.text
    assert "over this server's limit" in huge.json()["body"]["detail"]
