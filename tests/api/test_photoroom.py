"""Photoroom's API on backdrop: /v1/segment and /v2/edit (POST and GET) through httpx."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFilter

from backdrop.imaging.dpi import read_dpi
from backdrop.serving.node import EmbeddedNode
from tests.api.flow import upload
from tests.conftest import jpeg_bytes, png_bytes, subject_photo

SEGMENT = "/v1/segment"
EDIT = "/v2/edit"


def _photo() -> bytes:
    return jpeg_bytes(subject_photo()[0])


def _credits(runtime: EmbeddedNode, key: str) -> float:
    return runtime.keys.get(runtime.keys.authenticate(key).id).credits


def _segment(client: TestClient, key: str, photo: bytes | None = None, **data: str) -> Any:
    files = {"image_file": ("ball.jpg", photo or _photo(), "image/jpeg")}
    return client.post(SEGMENT, headers={"x-api-key": key}, files=files, data=data)


def _edit(client: TestClient, key: str, **data: str) -> Any:
    files = {"imageFile": ("ball.jpg", _photo(), "image/jpeg")}
    return client.post(EDIT, headers={"x-api-key": key}, files=files, data=data)


def _error(response: Any, status: int, kind: str, *, edit: bool = False) -> str:
    """The error's detail, after checking Photoroom's shape."""
    assert response.status_code == status, response.text
    body = response.json()
    expected = {"detail", "status_code", "type"} | ({"error"} if edit else set())
    assert set(body) == expected, body
    assert body["status_code"] == status and body["type"] == kind, body
    if edit:
        assert body["error"] == {"message": body["detail"], "detail": body["detail"]}
    detail: str = body["detail"]
    return detail


def _score(response: Any) -> float:
    score = float(response.headers["x-uncertainty-score"])
    assert 0.0 <= score <= 1.0
    return score


def test_segment_answers_the_cutout_with_an_uncertainty_score(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    response = _segment(client, api_key)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "RGBA" and image.size == (640, 480)
    alpha = np.asarray(image)[..., 3]
    assert alpha[2, 2] == 0 and alpha[264, 320] == 255
    # A crisp, high-contrast ball: the model is sure of it.
    assert _score(response) < 0.15
    assert _credits(runtime, api_key) == 9.5  # a removal: 0.5 credit


def test_segment_formats_channels_colour_size_and_crop(client: TestClient, api_key: str) -> None:
    jpeg = _segment(client, api_key, format="jpg", bg_color="#0000FF", size="preview")
    assert jpeg.status_code == 200, jpeg.text
    assert jpeg.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(jpeg.content))
    assert image.format == "JPEG" and image.width * image.height <= 250_000
    r, g, b = image.convert("RGB").getpixel((2, 2))  # type: ignore[misc]
    assert b > 200 and r < 40 and g < 40
    webp = _segment(client, api_key, format="webp", crop="true", despill="true")
    assert webp.headers["content-type"] == "image/webp"
    cropped = Image.open(io.BytesIO(webp.content))
    assert abs(cropped.width - 288) <= 8 and abs(cropped.height - 288) <= 8
    matte = _segment(client, api_key, channels="alpha")
    assert Image.open(io.BytesIO(matte.content)).mode == "L"
    as_json = client.post(
        SEGMENT,
        headers={"x-api-key": api_key, "Accept": "application/json"},
        files={"image_file": ("a.jpg", _photo(), "image/jpeg")},
    )
    decoded = Image.open(io.BytesIO(base64.b64decode(as_json.json()["base64img"])))
    assert decoded.size == (640, 480) and "x-uncertainty-score" in as_json.headers


@pytest.mark.parametrize("size, expected", [("medium", (1414, 1060)), ("hd", (2000, 1500))])
def test_segment_sizes_in_megapixels(
    client: TestClient, api_key: str, size: str, expected: tuple[int, int]
) -> None:
    """medium is at most 1.5 megapixels; hd (4) never enlarges this 3-megapixel photo."""
    big = jpeg_bytes(subject_photo(2000, 1500)[0])
    response = _segment(client, api_key, big, size=size)
    assert Image.open(io.BytesIO(response.content)).size == expected


def test_an_ambiguous_subject_scores_higher_than_a_clean_one(
    client: TestClient, api_key: str
) -> None:
    """A blurred, washed-out ball (its edge a wide ramp into a backdrop of nearly its own
    colour) leaves the model less sure than the crisp one."""
    photo, _ = subject_photo()
    washed = Image.blend(photo, Image.new("RGB", photo.size, (190, 170, 170)), 0.6)
    blurry = washed.filter(ImageFilter.GaussianBlur(14))
    clean = _score(_segment(client, api_key))
    unsure = _score(_segment(client, api_key, jpeg_bytes(blurry)))
    assert unsure > clean + 0.05, (clean, unsure)


def test_segment_refusals_in_photoroom_shape(client: TestClient, runtime: EmbeddedNode) -> None:
    photo = {"image_file": ("a.jpg", _photo(), "image/jpeg")}
    _error(client.post(SEGMENT, files=photo), 403, "invalid_api_key")
    _error(client.post(SEGMENT, files=photo, headers={"x-api-key": "bd_x"}), 403, "invalid_api_key")
    poor = runtime.keys.create("poor", 0.25).secret
    assert "0.25" in _error(_segment(client, poor), 402, "api_credits_consumed")
    key = runtime.keys.create("k", 5).secret
    for name, value in [
        ("format", "gif"),
        ("channels", "rgb"),
        ("size", "4k"),
        ("crop", "yes"),
        ("despill", "maybe"),
        ("bg_color", "not-a-colour"),
        ("roi", "10%"),
    ]:
        response = _segment(client, key, **{name: value})
        kind = "invalid_background" if name == "bg_color" else "invalid_request"
        assert name in _error(response, 400, kind) or kind == "invalid_background", name
    no_image = client.post(SEGMENT, headers={"x-api-key": key}, data={"format": "png"})
    assert "image_file" in _error(no_image, 400, "invalid_request")
    text = {"image_file": ("a.jpg", b"hello, world", "image/jpeg")}
    response = client.post(SEGMENT, headers={"x-api-key": key}, files=text)
    assert "plain text" in _error(response, 400, "unsupported_media_type")
    assert _credits(runtime, key) == 5  # nothing charged for a refusal


def test_edit_on_a_colour_as_jpeg_with_a_dpi(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    response = _edit(
        client,
        api_key,
        **{"background.color": "FF0000", "export.format": "jpeg", "export.dpi": "300"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/jpeg"
    assert read_dpi(response.content) == (300.0, 300.0)
    image = Image.open(io.BytesIO(response.content)).convert("RGB")
    r, g, b = image.getpixel((2, 2))  # type: ignore[misc]
    assert r > 200 and g < 40 and b < 40
    assert "x-uncertainty-score" in response.headers
    png = _edit(client, api_key, **{"export.dpi": "72"})
    assert png.headers["content-type"] == "image/png" and read_dpi(png.content) is not None
    assert abs(read_dpi(png.content)[0] - 72) < 0.1  # type: ignore[index]
    assert _credits(runtime, api_key) == 9.0  # two removals


def test_edit_by_get_with_this_servers_image_url(client: TestClient, api_key: str) -> None:
    image_url = upload(client, api_key, png_bytes(subject_photo()[0]), "image/png")
    response = client.get(
        EDIT,
        params={"imageUrl": image_url, "export.format": "webp"},
        headers={"x-api-key": api_key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(response.content)).size == (640, 480)


def test_edit_background_image_file_and_blur(client: TestClient, api_key: str) -> None:
    green = png_bytes(Image.new("RGB", (640, 480), (0, 200, 0)))
    on_green = client.post(
        EDIT,
        headers={"x-api-key": api_key},
        files={
            "imageFile": ("a.jpg", _photo(), "image/jpeg"),
            "background.imageFile": ("bg.png", green, "image/png"),
        },
    )
    assert on_green.status_code == 200, on_green.text
    corner = Image.open(io.BytesIO(on_green.content)).convert("RGB").getpixel((2, 2))
    assert corner[1] > 180 and corner[0] < 30  # type: ignore[index]
    blurred = _edit(client, api_key, **{"background.blur.mode": "gaussian"})
    assert blurred.status_code == 200, blurred.text
    result = np.asarray(Image.open(io.BytesIO(blurred.content)).convert("RGBA"))
    # The photo itself behind the subject: opaque, its blue-grey backdrop in the corner.
    assert result[..., 3].min() == 255
    r, _, b, _ = result[5, 5]
    assert b > r and abs(int(b) - 200) < 30
    # Blurred: above the ball (its top at y = 120) the ball, which has almost no blue, bleeds
    # into the blue-grey backdrop; a wider radius bleeds further.
    original = np.asarray(subject_photo()[0]).astype(int)
    wide = _rgba(
        _edit(
            client,
            api_key,
            **{"background.blur.mode": "gaussian", "background.blur.radius": "0.05"},
        )
    ).astype(int)
    assert wide[100, 320, 2] < original[100, 320, 2] - 15
    assert wide[100, 320, 2] < result[100, 320, 2].astype(int) - 5


def test_edit_generated_background_costs_one_credit(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    response = _edit(
        client, api_key, **{"background.prompt": "on a wooden table", "background.seed": "7"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert response.headers["pr-ai-background-seed"] == "7"
    assert Image.open(io.BytesIO(response.content)).size == (640, 480)
    assert _credits(runtime, api_key) == 9.0


@pytest.mark.parametrize(
    "fields, named, kind",
    [
        ({"padding": "0.5"}, "padding", "invalid_request"),
        ({"padding": ""}, "padding", "invalid_request"),
        ({"paddingTop": "50%"}, "paddingTop", "invalid_request"),
        ({"marginLeft": "ten"}, "marginLeft", "invalid_request"),
        ({"outputSize": "big"}, "outputSize", "invalid_request"),
        ({"outputSize": "0x100"}, "outputSize", "invalid_request"),
        ({"maxWidth": "0", "outputSize": "originalImage"}, "maxWidth", "invalid_request"),
        ({"maxWidth": "100", "outputSize": "500x500"}, "maxWidth", "invalid_combination"),
        ({"scaling": "stretch"}, "scaling", "invalid_request"),
        ({"referenceBox": "canvas"}, "referenceBox", "invalid_request"),
        ({"horizontalAlignment": "middle"}, "horizontalAlignment", "invalid_request"),
        ({"verticalAlignment": "middle"}, "verticalAlignment", "invalid_request"),
        ({"shadow.mode": "ai.auto"}, "shadow.mode", "invalid_request"),
        ({"lighting.mode": "ai.preserve-hue-and-saturation"}, "lighting.mode", "invalid_request"),
        ({"export.format": "gif"}, "export.format", "invalid_request"),
        ({"export.dpi": "20"}, "export.dpi", "invalid_request"),
        ({"export.dpi": "300", "export.format": "webp"}, "export.dpi", "invalid_combination"),
        ({"removeBackground": "false"}, "removeBackground", "invalid_request"),
        ({"background.blur.mode": "bokeh"}, "background.blur.mode", "invalid_request"),
        (
            {"background.blur.mode": "gaussian", "background.blur.radius": "0.5"},
            "radius",
            "invalid_request",
        ),
        (
            {"background.color": "red", "background.prompt": "a beach"},
            "background.prompt",
            "invalid_combination",
        ),
        ({"background.seed": "3"}, "background.seed", "invalid_combination"),
        ({"background.prompt": "a beach", "padding": "0.1"}, "padding", "invalid_combination"),
        ({"background.scaling": "fit"}, "background.scaling", "invalid_request"),
        ({"textRemoval.mode": "ai.all"}, "textRemoval.mode", "invalid_request"),
        ({"templateId": "x"}, "templateId", "invalid_request"),
    ],
)
def test_edit_refuses_what_it_does_not_do_naming_it(
    client: TestClient, runtime: EmbeddedNode, fields: dict[str, str], named: str, kind: str
) -> None:
    key = runtime.keys.create("k", 5).secret
    assert named in _error(_edit(client, key, **fields), 400, kind, edit=True)
    assert _credits(runtime, key) == 5


def test_edit_image_and_key_refusals(client: TestClient, runtime: EmbeddedNode) -> None:
    key = runtime.keys.create("k", 5).secret
    files = {"imageFile": ("a.jpg", _photo(), "image/jpeg")}
    _error(client.post(EDIT, files=files), 403, "invalid_api_key", edit=True)
    nothing = client.post(EDIT, headers={"x-api-key": key}, data={"padding": "0.1"})
    assert "no image" in _error(nothing, 400, "invalid_request", edit=True)
    both = client.post(
        EDIT, headers={"x-api-key": key}, files=files, data={"imageUrl": "http://x/a.jpg"}
    )
    assert "exactly one" in _error(both, 400, "invalid_combination", edit=True)
    external = client.get(
        EDIT, params={"imageUrl": "http://example.com/a.jpg"}, headers={"x-api-key": key}
    )
    assert "BACKDROP_FETCH__ALLOWED_HOSTS" in _error(external, 400, "invalid_image_url", edit=True)
    poor = runtime.keys.create("poor", 0.25).secret
    _error(_edit(client, poor), 402, "api_credits_consumed", edit=True)
    assert _credits(runtime, key) == 5


def test_openapi_lists_the_photoroom_routes_and_their_subset(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"][SEGMENT]) == {"post"}
    assert set(schema["paths"][EDIT]) == {"get", "post"}
    assert "Photoroom" in schema["paths"][EDIT]["get"]["tags"]
    query = {p["name"]: p["schema"] for p in schema["paths"][EDIT]["get"]["parameters"]}
    assert query["shadow.mode"]["enum"][:3] == ["ai.soft", "ai.hard", "ai.floating"]
    assert query["lighting.mode"]["enum"] == ["ai.auto"]
    assert query["removeBackground"]["enum"] == ["true"]
    body = schema["paths"][SEGMENT]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["properties"]["size"]["enum"][:4] == ["preview", "medium", "hd", "full"]
    assert "x-uncertainty-score" in schema["paths"][SEGMENT]["post"]["responses"]["200"]["headers"]


def _box(alpha: np.ndarray, level: int = 128) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the pixels at or above `level`."""
    rows = np.flatnonzero((alpha >= level).any(axis=1))
    cols = np.flatnonzero((alpha >= level).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _near(box: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(box, expected, strict=True))


def _rgba(response: Any) -> np.ndarray:
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))


# The test photo's ball: centre (320, 264), radius 144, so its box is (176, 120, 464, 408).


def test_a_marketplace_square_centres_the_subject_inside_its_padding(
    client: TestClient, api_key: str
) -> None:
    response = _edit(
        client,
        api_key,
        outputSize="1000x1000",
        padding="0.1",
        **{"background.color": "FFFFFF", "export.format": "jpeg"},
    )
    pixels = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(int)
    assert pixels.shape == (1000, 1000, 3)
    # Not white: the ball, enlarged to fill the 800 x 800 inside the 10 % padding.
    ball = (255 * 3 - pixels.sum(axis=2)) > 60
    assert _near(_box(ball.astype(np.uint8) * 255), (100, 100, 900, 900), 8)


def test_alignment_margin_and_output_sizes_place_the_box(client: TestClient, api_key: str) -> None:
    left = _rgba(
        _edit(client, api_key, outputSize="1000x600", padding="10%", horizontalAlignment="left")
    )
    assert left.shape[:2] == (600, 1000)
    # The ball fits the 480 px high box inside the padding, against its left side.
    assert _near(_box(left[..., 3]), (100, 60, 580, 540))
    bottom = _rgba(
        _edit(client, api_key, outputSize="600x1000", padding="60px", verticalAlignment="bottom")
    )
    assert _near(_box(bottom[..., 3]), (60, 460, 540, 940))
    cropped = _rgba(_edit(client, api_key, outputSize="croppedSubject", margin="20px"))
    assert _near(cropped.shape[:2], (288 + 40, 288 + 40))
    assert _near(_box(cropped[..., 3]), (20, 20, 308, 308))
    bounded = _rgba(_edit(client, api_key, outputSize="originalImage", maxWidth="320", padding="0"))
    assert bounded.shape[:2] == (240, 320)


def test_a_soft_shadow_darkens_the_ground_under_the_subject_only(
    client: TestClient, api_key: str
) -> None:
    plain = _rgba(_edit(client, api_key))
    shadowed_response = _edit(client, api_key, **{"shadow.mode": "ai.soft"})
    shadowed = _rgba(shadowed_response)
    assert shadowed.shape == plain.shape == (480, 640, 4)
    # Just under the ball's lowest point: transparent without a shadow, semi-transparent
    # black with one.
    below = (slice(410, 418), slice(300, 340))
    assert plain[below][..., 3].max() == 0
    assert shadowed[below][..., 3].mean() > 20
    assert shadowed[below][..., :3].max() < 60
    # Far from the ball nothing is drawn; the ball itself is untouched.
    assert shadowed[5:40, 5:40, 3].max() == 0
    centre = (slice(200, 330), slice(250, 390))
    assert np.abs(shadowed[centre].astype(int) - plain[centre].astype(int)).max() <= 2
    for mode in ("ai.hard", "ai.floating"):
        other = _rgba(_edit(client, api_key, **{"shadow.mode": mode}))
        assert (other[..., 3] > 0).sum() > (plain[..., 3] > 0).sum(), mode


def test_an_order_that_fails_in_the_worker_costs_nothing(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    """A 100 MP canvas passes the request's checks but not the worker's pixel limit (40 MP):
    the order fails, the answer says why in Photoroom's shape, and no credit is taken."""
    response = _edit(client, api_key, outputSize="10000x10000")
    detail = _error(response, 400, "unable_to_process", edit=True)
    assert "MP" in detail, detail
    assert _credits(runtime, api_key) == 10
