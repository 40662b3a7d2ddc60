"""background-generator and product-photoshoot: LightX's fields and backdrop's optional ones."""

from __future__ import annotations

import importlib.util
import io

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from backdrop.engines.diffusion import MISSING_EXTRA
from backdrop.runtime import Runtime
from tests.api.flow import finished, order, upload
from tests.conftest import jpeg_bytes, png_bytes, subject_photo


def _output(client: TestClient, status: dict) -> np.ndarray:
    response = client.get(status["output"])
    assert response.headers["content-type"] == "image/jpeg"
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)


def test_same_seed_same_image_other_seed_other_grain(
    client: TestClient, runtime: Runtime, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    outputs = []
    for seed in (7, 7, 8):
        created = order(
            client,
            api_key,
            "background-generator",
            {"imageUrl": image_url, "textPrompt": "soft grey studio", "seed": seed},
        )
        outputs.append(_output(client, finished(client, runtime, api_key, created["orderId"])))
    assert np.array_equal(outputs[0], outputs[1])
    assert not np.array_equal(outputs[0], outputs[2])


def test_style_image_sets_the_palette(client: TestClient, runtime: Runtime, api_key: str) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    corners = {}
    for name, colour in (("red", (200, 30, 30)), ("blue", (30, 40, 200))):
        style_url = upload(
            client, api_key, png_bytes(Image.new("RGB", (64, 64), colour)), "image/png"
        )
        created = order(
            client,
            api_key,
            "product-photoshoot",
            {"imageUrl": image_url, "styleImageUrl": style_url},
        )
        status = finished(client, runtime, api_key, created["orderId"])
        assert status["status"] == "active", status
        corners[name] = _output(client, status)[:40, :40].reshape(-1, 3).mean(axis=0)
    assert corners["red"][0] - corners["red"][2] > corners["blue"][0] - corners["blue"][2] + 30


def test_product_photoshoot_with_a_prompt_costs_one_credit(
    client: TestClient, runtime: Runtime, api_key: str
) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    created = order(
        client, api_key, "product-photoshoot", {"imageUrl": image_url, "textPrompt": "marble"}
    )
    assert finished(client, runtime, api_key, created["orderId"])["status"] == "active"
    assert runtime.keys.authenticate(api_key).credits == 9


def test_product_photoshoot_needs_a_prompt_or_a_style(client: TestClient, api_key: str) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    response = client.post(
        "/external/api/v1/product-photoshoot",
        json={"imageUrl": image_url},
        headers={"x-api-key": api_key},
    )
    assert response.status_code == 400
    assert "styleImageUrl" in response.json()["body"]["detail"]


def test_unknown_engine_and_bad_options(client: TestClient, runtime: Runtime, api_key: str) -> None:
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    headers = {"x-api-key": api_key}
    path = "/external/api/v1/background-generator"
    unknown = client.post(
        path, json={"imageUrl": image_url, "textPrompt": "x", "engine": "dall-e"}, headers=headers
    )
    assert unknown.status_code == 400 and unknown.json()["statusCode"] == 4020
    assert "studio" in unknown.json()["body"]["detail"]
    negative_seed = client.post(
        path, json={"imageUrl": image_url, "textPrompt": "x", "seed": -1}, headers=headers
    )
    assert negative_seed.status_code == 400
    bad_negative = client.post(
        path,
        json={"imageUrl": image_url, "textPrompt": "x", "negativePrompt": "a\x00b"},
        headers=headers,
    )
    assert bad_negative.status_code == 400 and bad_negative.json()["statusCode"] == 5041
    foreign_style = client.post(
        path,
        json={"imageUrl": image_url, "textPrompt": "x", "styleImageUrl": "https://x.org/a.png"},
        headers=headers,
    )
    assert foreign_style.status_code == 404 and foreign_style.json()["statusCode"] == 4006
    assert runtime.keys.authenticate(api_key).credits == 10


def test_diffusion_without_weights_fails_the_order_and_charges_nothing(
    client: TestClient, runtime: Runtime, api_key: str, tmp_path
) -> None:
    runtime.settings.generation.diffusion.model = str(tmp_path / "no-such-model")
    image_url = upload(client, api_key, jpeg_bytes(subject_photo()[0]))
    created = order(
        client,
        api_key,
        "background-generator",
        {"imageUrl": image_url, "textPrompt": "beach", "engine": "diffusion"},
    )
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "failed"
    # With the extra installed the missing folder is named; without it, the extra.
    if importlib.util.find_spec("diffusers") and importlib.util.find_spec("torch"):
        assert "no-such-model" in status["reason"] and "does not exist" in status["reason"]
    else:
        assert MISSING_EXTRA in status["reason"]
    assert runtime.keys.authenticate(api_key).credits == 10
