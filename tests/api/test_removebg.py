"""remove.bg's API on backdrop: one call, remove.bg's fields, answers, headers and errors."""

from __future__ import annotations

import base64
import io
import zipfile
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backdrop.serving.node import EmbeddedNode
from tests.api.flow import upload
from tests.conftest import jpeg_bytes, png_bytes, subject_photo

REMOVEBG = "/v1.0/removebg"


def _photo() -> bytes:
    return jpeg_bytes(subject_photo()[0])


def _post(client: TestClient, key: str, **kwargs: Any) -> Any:
    return client.post(REMOVEBG, headers={"X-Api-Key": key, **kwargs.pop("headers", {})}, **kwargs)


def _error(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    errors = response.json()["errors"]
    assert len(errors) == 1 and set(errors[0]) == {"title", "code", "detail"}
    assert errors[0]["code"] == code, errors
    detail: str = errors[0]["detail"]
    return detail


def test_multipart_file_answers_the_cutout_with_remove_bg_headers(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    response = _post(client, api_key, files={"image_file": ("ball.jpg", _photo(), "image/jpeg")})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "RGBA" and image.size == (640, 480)
    alpha = np.asarray(image)[..., 3]
    assert alpha[2, 2] == 0 and alpha[264, 320] == 255
    headers = response.headers
    assert (headers["x-width"], headers["x-height"]) == ("640", "480")
    assert headers["x-credits-charged"] == "0.5" and headers["x-type"] == "other"
    # The ball: centre (320, 264), radius 144.
    assert abs(int(headers["x-foreground-left"]) - 176) <= 4
    assert abs(int(headers["x-foreground-top"]) - 120) <= 4
    assert abs(int(headers["x-foreground-width"]) - 288) <= 8
    assert abs(int(headers["x-foreground-height"]) - 288) <= 8
    # Charged like a LightX removal, from the same balance.
    assert client.get("/v1.0/account", headers={"X-Api-Key": api_key}).json() == {
        "data": {
            "attributes": {
                "credits": {"total": 9.5, "subscription": 0, "payg": 9.5, "enterprise": 0},
                "api": {"free_calls": 0, "sizes": "all"},
            }
        }
    }


def test_json_answer_and_base64_input_on_a_colour(client: TestClient, api_key: str) -> None:
    encoded = base64.b64encode(_photo()).decode()
    response = _post(
        client,
        api_key,
        data={"image_file_b64": encoded, "bg_color": "0000ff", "size": "preview"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert set(data) == {
        "result_b64",
        "foreground_top",
        "foreground_left",
        "foreground_width",
        "foreground_height",
    }
    image = Image.open(io.BytesIO(base64.b64decode(data["result_b64"])))
    # An opaque colour makes `auto` a JPEG; preview is at most 0.25 megapixels.
    assert image.format == "JPEG" and image.width * image.height <= 250_000
    assert image.size == (577, 433)
    r, g, b = image.convert("RGB").getpixel((2, 2))  # type: ignore[misc]
    assert b > 200 and r < 40 and g < 40
    assert response.headers["x-width"] == "577"


def test_json_body_with_this_servers_image_url(client: TestClient, api_key: str) -> None:
    image_url = upload(client, api_key, png_bytes(subject_photo()[0]), "image/png")
    response = _post(client, api_key, json={"image_url": image_url, "format": "webp", "crop": True})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    cropped = Image.open(io.BytesIO(response.content))
    assert abs(cropped.width - 288) <= 8 and abs(cropped.height - 288) <= 8
    assert response.headers["x-foreground-left"] in {"0", "1"}


def test_zip_crop_margin_alpha_channel_and_background_file(
    client: TestClient, api_key: str
) -> None:
    zipped = _post(
        client,
        api_key,
        files={"image_file": ("a.jpg", _photo(), "image/jpeg")},
        data={"format": "zip", "crop": "true", "crop_margin": "20px"},
    )
    assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert sorted(archive.namelist()) == ["alpha.png", "color.jpg"]
        color = Image.open(io.BytesIO(archive.read("color.jpg")))
        alpha = Image.open(io.BytesIO(archive.read("alpha.png")))
    assert color.size == alpha.size and abs(color.width - 328) <= 8
    matte = _post(
        client,
        api_key,
        files={"image_file": ("a.jpg", _photo(), "image/jpeg")},
        data={"channels": "alpha"},
    )
    assert Image.open(io.BytesIO(matte.content)).mode == "L"
    backdrop = Image.new("RGB", (640, 480), (0, 200, 0))
    on_green = _post(
        client,
        api_key,
        files={
            "image_file": ("a.jpg", _photo(), "image/jpeg"),
            "bg_image_file": ("bg.png", png_bytes(backdrop), "image/png"),
        },
    )
    assert on_green.headers["content-type"] == "image/jpeg"
    corner = Image.open(io.BytesIO(on_green.content)).convert("RGB").getpixel((2, 2))
    assert corner[1] > 180 and corner[0] < 30  # type: ignore[index]


def test_errors_in_remove_bg_shape(client: TestClient, runtime: EmbeddedNode) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    _error(client.post(REMOVEBG, files=photo), 403, "auth_failed")
    _error(_post(client, "bd_wrong", files=photo), 403, "auth_failed")
    poor = runtime.keys.create("poor", 0.25).secret
    assert "0.25" in _error(_post(client, poor, files=photo), 402, "insufficient_credits")
    key = runtime.keys.create("k", 5).secret
    assert "no image given" in _error(
        _post(client, key, data={"size": "auto"}), 400, "invalid_request"
    )
    assert "size" in _error(
        _post(client, key, files=photo, data={"size": "huge"}), 400, "invalid_request"
    )
    for name, value, words in [
        ("roi", "10% 10% 90%", "4 values"),
        ("roi", "90% 10% 10% 90%", "x2 must be right of x1"),
        ("roi", "0% 0% 150% 100%", "between 0% and 100%"),
        ("crop_margin", "10px 20px 30px", "1, 2 or 4 values"),
        ("crop_margin", "ten", "pixels or percentages"),
        ("scale", "5%", "from 10% to 100%"),
        ("scale", "200px", "from 10% to 100%"),
        ("position", "left", "pixels or percentages"),
        ("position", "120%", "from 0% to 100%"),
    ]:
        detail = _error(_post(client, key, files=photo, data={name: value}), 400, "invalid_request")
        assert name in detail and words in detail, detail
    text = {"image_file": ("a.jpg", b"hello, world", "image/jpeg")}
    assert "plain text" in _error(_post(client, key, files=text), 400, "unsupported_media_type")
    external = _post(client, key, data={"image_url": "http://example.com/a.jpg"})
    assert "BACKDROP_FETCH__ALLOWED_HOSTS" in _error(external, 400, "invalid_image_url")
    assert runtime.keys.get(runtime.keys.authenticate(key).id).credits == 5  # nothing charged


@pytest.mark.parametrize("size, expected", [("medium", (1414, 1060)), ("hd", (2000, 1500))])
def test_sizes_in_megapixels(
    client: TestClient, api_key: str, size: str, expected: tuple[int, int]
) -> None:
    """medium is at most 1.5 megapixels; hd (4) never enlarges this 3-megapixel photo."""
    big = subject_photo(2000, 1500)[0]
    response = _post(
        client,
        api_key,
        files={"image_file": ("big.jpg", jpeg_bytes(big), "image/jpeg")},
        data={"size": size},
    )
    size_answered = (int(response.headers["x-width"]), int(response.headers["x-height"]))
    assert size_answered == expected == Image.open(io.BytesIO(response.content)).size


def _image(response: Any) -> Image.Image:
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def test_add_shadow_is_semi_transparent_black_under_the_subject(
    client: TestClient, api_key: str
) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    plain = np.asarray(_image(_post(client, api_key, files=photo)))
    shadowed = np.asarray(_image(_post(client, api_key, files=photo, data={"add_shadow": "true"})))
    # The ball's bottom is at row ~408: below it the shadow is black with some alpha.
    below = shadowed[410:416, 300:340]
    assert plain[410:416, 300:340, 3].max() < 40 and below[..., 3].mean() > 40
    assert below[..., :3].max() < 40
    # The subject itself is untouched.
    assert (shadowed[264, 320] == plain[264, 320]).all()


def test_scale_and_position_place_the_subject(client: TestClient, api_key: str) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    response = _post(client, api_key, files=photo, data={"scale": "50%", "position": "0% 100%"})
    image = _image(response)
    assert image.size == (640, 480)
    # 50 % of what just fits (480 / 288): the ball is ~240 px, at the bottom-left corner.
    assert abs(int(response.headers["x-foreground-left"])) <= 3
    assert abs(int(response.headers["x-foreground-top"]) - 240) <= 6
    assert abs(int(response.headers["x-foreground-width"]) - 240) <= 8


def test_crop_margin_in_percent_and_per_side(client: TestClient, api_key: str) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    # 10 % of the ball (288) top and bottom, 0 left and right; 80 % is capped at 50 %.
    tall = _image(
        _post(client, api_key, files=photo, data={"crop": "true", "crop_margin": "10% 0"})
    )
    assert abs(tall.width - 288) <= 8 and abs(tall.height - 288 * 1.2) <= 10
    capped = _image(
        _post(client, api_key, files=photo, data={"crop": "true", "crop_margin": "80%"})
    )
    assert abs(capped.width - 288 * 2) <= 12


def test_roi_keeps_only_the_region(client: TestClient, api_key: str) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    alpha = np.asarray(_image(_post(client, api_key, files=photo, data={"roi": "0% 0% 50% 100%"})))
    assert alpha[264, 300, 3] == 255 and alpha[264, 340, 3] == 0  # the ball's right half is gone
    hard = np.asarray(
        _image(_post(client, api_key, files=photo, data={"semitransparency": "false"}))
    )
    assert set(np.unique(hard[..., 3])) <= {0, 255}
