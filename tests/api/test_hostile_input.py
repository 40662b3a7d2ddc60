"""Every field of every route, sent malformed, is answered 4xx in that API's own error shape.

LightX's routes answer `{"statusCode", "message", "body"}`; remove.bg's answer
`{"errors": [{"title", "code", "detail"}]}`, unexpected errors included. No answer names a
path on the server.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backdrop.api.app import create_app
from backdrop.errors import UnableToProcess
from backdrop.orders.desk import OrderDesk
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import (
    DiffusionSettings,
    FetchSettings,
    GenerationSettings,
    RateLimitSettings,
    Settings,
)
from backdrop.uploads.service import ServedImage
from tests.api.flow import upload
from tests.conftest import jpeg_bytes, png_bytes, subject_photo

LIGHTX = "/external/api/v1"
REMOVEBG = "/v1.0/removebg"
# Nested past Python's recursion limit: json.loads raises RecursionError, not ValueError.
TOO_DEEP = "[" * 1000 + "]" * 1000
# Deep, but within what the parser reads: the value reaches the models.
DEEP: Any = []
for _ in range(200):
    DEEP = [DEEP]

# Shapes an attacker sends, for any field. URLs that would reach the network are malformed
# or name a host off the allow-list, so nothing leaves this machine.
MALFORMED: list[Any] = [
    "http://[::1/x",
    "http://[abc",
    "http://example.com:99999/a.png",
    "http://testserver:99999/images/uploads/a.png",
    "http://testserver/images/uploads/%00.png",
    "https://[::ffff:127.0.0.1]/a.png",
    "//testserver/images/uploads/a.png",
    2**64,
    10**300,
    -1,
    -(2**63),
    1.5,
    1e308,
    True,
    False,
    None,
    "",
    "\x00",
    "a\x00b",
    "\x01\x1b[31m\x7f\r\n",
    "\u202e\ufeff\ud7ff",
    "x" * 5000,
    [],
    ["#ffffff"],
    {},
    {"a": 1},
    DEEP,
]


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height` with no pixel data to match."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


_PHOTO = jpeg_bytes(subject_photo(64, 48)[0])
_PNG = png_bytes(subject_photo(64, 48)[0])
DEGENERATE = {
    "0x0 png": _png_header_only(0, 0),
    "1x0 png": _png_header_only(1, 0),
    "0x1 png": _png_header_only(0, 1),
    "truncated png": _PNG[: len(_PNG) // 2],
    "png header only": _PNG[:33],
    "truncated jpeg": _PHOTO[: len(_PHOTO) // 2],
    "jpeg magic only": _PHOTO[:4],
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # No rate limit in the way (every value must reach the parsers), one external host
    # allowed (so the fetcher's own parsing is reached), and a diffusion model that is absent.
    return Settings(
        data_dir=tmp_path / "data",
        public_url=None,
        database_url=None,
        rate_limits=RateLimitSettings(
            requests="100000/second", orders="100000/minute", waiting_orders=100_000
        ),
        fetch=FetchSettings(allowed_hosts=["example.com"]),
        generation=GenerationSettings(diffusion=DiffusionSettings(model=str(tmp_path / "none"))),
    )


@pytest.fixture
def lenient_client(runtime: EmbeddedNode) -> Iterator[TestClient]:
    """A client that returns a 500 as an answer instead of raising it."""
    with TestClient(create_app(runtime.api), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def key(runtime: EmbeddedNode) -> str:
    return runtime.keys.create("hostile", 10_000).secret


@pytest.fixture
def orders_not_run(runtime: EmbeddedNode, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accepted orders are created but not run: what is tested is how requests are read, and
    running hundreds of orders through the model would only make the walk slow."""

    async def not_run(self: OrderDesk, key_id: str, order_id: str, gone: object) -> None:
        raise UnableToProcess("orders are not run in this test")

    monkeypatch.setattr(runtime.pool, "submit", lambda *args, **kwargs: None)
    monkeypatch.setattr(OrderDesk, "_wait_until_done", not_run)


def _no_server_path(response: Any, settings: Settings) -> None:
    text = response.text
    for leak in (str(settings.data_dir), "BufferedReader", "/tmp/", "/.upload-"):
        assert leak not in text, (response.request.url, text)


def _lightx(response: Any, settings: Settings, what: object) -> None:
    assert response.status_code < 500, (what, response.text)
    assert set(response.json()) == {"statusCode", "message", "body"}, (what, response.text)
    _no_server_path(response, settings)


def _removebg(response: Any, settings: Settings, what: object) -> None:
    assert response.status_code < 500, (what, response.text)
    _no_server_path(response, settings)
    if response.status_code != 200:
        errors = response.json()["errors"]
        assert len(errors) == 1 and set(errors[0]) == {"title", "code", "detail"}, (what, errors)
        assert all(isinstance(value, str) for value in errors[0].values()), (what, errors)


def _form_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


@pytest.mark.usefixtures("orders_not_run")
def test_every_lightx_field_malformed(
    lenient_client: TestClient, key: str, settings: Settings
) -> None:
    image = upload(lenient_client, key, _PHOTO)
    bodies: dict[str, dict[str, Any]] = {
        "/external/api/v2/uploadImageUrl": {
            "uploadType": "imageUrl",
            "size": len(_PHOTO),
            "contentType": "image/jpeg",
        },
        f"{LIGHTX}/remove-background": {
            "imageUrl": image,
            "background": "#ffffff",
            "model": None,
            "format": "png",
            "crop": False,
            "cropMargin": 0,
            "size": "full",
            "channels": "rgba",
        },
        f"{LIGHTX}/background-generator": {
            "imageUrl": image,
            "textPrompt": "a beach",
            "seed": 1,
            "negativePrompt": "text",
            "styleImageUrl": image,
            "engine": "studio",
        },
        f"{LIGHTX}/product-photoshoot": {
            "imageUrl": image,
            "textPrompt": "a table",
            "seed": 1,
            "negativePrompt": "text",
            "styleImageUrl": image,
            "engine": "studio",
        },
        f"{LIGHTX}/order-status": {"orderId": "7906da5353b504162db5199d6"},
    }
    headers = {"x-api-key": key}
    for path, valid in bodies.items():
        for field in valid:
            for value in MALFORMED:
                body = {**valid, field: value}
                response = lenient_client.post(path, json=body, headers=headers)
                _lightx(response, settings, (path, field, value))
        # The body itself malformed: not an object, not JSON, nested past the parser.
        for raw in ("[]", "1", '"x"', "null", "{", "\x00", TOO_DEEP, '{"a":' * 600):
            response = lenient_client.post(
                path, content=raw, headers={**headers, "Content-Type": "application/json"}
            )
            _lightx(response, settings, (path, raw[:20]))
            assert response.status_code == 400, (path, raw[:20], response.text)


REMOVEBG_FIELDS = [
    "image_url", "image_file_b64", "size", "type", "type_level", "format", "roi", "crop",
    "crop_margin", "scale", "position", "channels", "bg_color", "bg_image_url", "add_shadow",
    "semitransparency", "model",
]  # fmt: skip


@pytest.mark.usefixtures("orders_not_run")
@pytest.mark.parametrize("encoding", ["json", "urlencoded", "multipart"])
def test_every_remove_bg_field_malformed(
    lenient_client: TestClient, key: str, settings: Settings, encoding: str
) -> None:
    image = upload(lenient_client, key, _PHOTO)
    headers = {"X-Api-Key": key}
    for field in REMOVEBG_FIELDS:
        for value in MALFORMED:
            # The image comes as a URL of this server (or as a file), so only `field` is wrong.
            base: dict[str, Any] = {} if encoding == "multipart" else {"image_url": image}
            body = {**base, field: value}
            if encoding == "json":
                response = lenient_client.post(REMOVEBG, json=body, headers=headers)
            elif encoding == "urlencoded":
                form = {name: _form_text(v) for name, v in body.items()}
                response = lenient_client.post(REMOVEBG, data=form, headers=headers)
            else:
                form = {name: _form_text(v) for name, v in body.items()}
                files = {"image_file": ("photo.jpg", _PHOTO, "image/jpeg")}
                response = lenient_client.post(REMOVEBG, data=form, files=files, headers=headers)
            _removebg(response, settings, (encoding, field, value))


def test_remove_bg_bodies_malformed_as_a_whole(
    lenient_client: TestClient, key: str, settings: Settings
) -> None:
    headers = {"X-Api-Key": key}
    for raw in ("[]", "1", "null", "{", "\x00", TOO_DEEP, '{"a":' * 600, "[" * 100_000):
        response = lenient_client.post(
            REMOVEBG, content=raw, headers={**headers, "Content-Type": "application/json"}
        )
        _removebg(response, settings, raw[:20])
        assert response.status_code in (400, 413), (raw[:20], response.text)
    for content_type in ("multipart/form-data", "multipart/form-data; boundary=x", "text/x"):
        response = lenient_client.post(
            REMOVEBG, content=b"--x\r\n\x00", headers={**headers, "Content-Type": content_type}
        )
        _removebg(response, settings, content_type)
        assert response.status_code == 400, (content_type, response.text)
    for files in (
        {"image_file": ("a.jpg", b"", "image/jpeg")},
        {"image_file": ("a.jpg", _PHOTO, "image/jpeg"), "bg_image_file": ("b", b"\x00", "x/y")},
    ):
        response = lenient_client.post(REMOVEBG, files=files, headers=headers)
        _removebg(response, settings, files)
        assert response.status_code == 400, response.text


def test_the_attackers_urls_answer_4xx(
    lenient_client: TestClient, key: str, settings: Settings
) -> None:
    image = upload(lenient_client, key, _PHOTO)
    headers = {"x-api-key": key}
    for bad in ("http://[::1/x", "http://[abc"):
        for path, body in (
            ("remove-background", {"imageUrl": bad}),
            ("remove-background", {"imageUrl": image, "background": bad}),
            ("background-generator", {"imageUrl": bad, "textPrompt": "sky"}),
            ("product-photoshoot", {"imageUrl": image, "styleImageUrl": bad}),
        ):
            response = lenient_client.post(f"{LIGHTX}/{path}", json=body, headers=headers)
            assert response.status_code == 404, response.text
            assert response.json()["message"] == "INVALID_IMAGE_URL"
        for fields in ({"image_url": bad}, {"image_url": image, "bg_image_url": bad}):
            response = lenient_client.post(REMOVEBG, data=fields, headers=headers)
            assert response.status_code == 400, response.text
            assert response.json()["errors"][0]["code"] == "invalid_image_url"
    # A port out of range on an allowed host.
    response = lenient_client.post(
        REMOVEBG, data={"image_url": "http://example.com:99999/a.png"}, headers=headers
    )
    assert response.status_code == 400 and "invalid_image_url" in response.text
    response = lenient_client.post(
        REMOVEBG, content=TOO_DEEP, headers={**headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == "invalid_request"


def test_booleans_are_not_integers(lenient_client: TestClient, key: str) -> None:
    headers = {"x-api-key": key}
    response = lenient_client.post(
        "/external/api/v2/uploadImageUrl",
        json={"uploadType": "imageUrl", "size": True, "contentType": "image/png"},
        headers=headers,
    )
    assert response.status_code == 400 and "size" in response.json()["body"]["detail"]
    image = upload(lenient_client, key, _PHOTO)
    for field in ("size", "cropMargin"):
        response = lenient_client.post(
            f"{LIGHTX}/remove-background", json={"imageUrl": image, field: True}, headers=headers
        )
        assert response.status_code == 400, (field, response.text)
    response = lenient_client.post(
        f"{LIGHTX}/background-generator",
        json={"imageUrl": image, "textPrompt": "sky", "seed": True},
        headers=headers,
    )
    assert response.status_code == 400, response.text


def test_unexpected_errors_answer_in_each_apis_shape(
    lenient_client: TestClient, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug at /srv/backdrop/secret.py")

    monkeypatch.setattr("backdrop.api.removebg.routes.read_request", broken)
    monkeypatch.setattr("backdrop.api.routes.orders.key_from_image_url", broken)
    response = lenient_client.post(REMOVEBG, data={"image_url": "x"}, headers={"X-Api-Key": key})
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {
                "title": "Internal server error",
                "code": "internal_error",
                "detail": "an unexpected error occurred",
            }
        ]
    }
    response = lenient_client.post(
        f"{LIGHTX}/remove-background", json={"imageUrl": "http://x/"}, headers={"x-api-key": key}
    )
    assert response.status_code == 500
    assert response.json()["statusCode"] == 5000 and "/srv" not in response.text


@pytest.mark.parametrize("name", list(DEGENERATE))
def test_degenerate_images_name_no_server_path(
    lenient_client: TestClient, key: str, settings: Settings, name: str
) -> None:
    data = DEGENERATE[name]
    content_type = "image/png" if "png" in name else "image/jpeg"
    headers = {"x-api-key": key}
    grant = lenient_client.post(
        "/external/api/v2/uploadImageUrl",
        json={"uploadType": "imageUrl", "size": len(data), "contentType": content_type},
        headers=headers,
    )
    _lightx(grant, settings, name)
    put = lenient_client.put(
        grant.json()["body"]["uploadImage"], content=data, headers={"Content-Type": content_type}
    )
    assert 400 <= put.status_code < 500, put.text
    _lightx(put, settings, name)
    b64 = base64.b64encode(data).decode()
    for request in (
        {"files": {"image_file": ("a", data, content_type)}},
        {"data": {"image_file_b64": b64}},
        {"json": {"image_file_b64": b64}},
    ):
        response = lenient_client.post(REMOVEBG, headers=headers, **request)
        assert 400 <= response.status_code < 500, response.text
        _removebg(response, settings, name)


def test_images_are_served_with_nosniff(
    lenient_client: TestClient, runtime: EmbeddedNode, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = upload(lenient_client, key, _PHOTO)
    response = lenient_client.get(image)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    # From a bucket, the answer is a redirect to it: the same header.
    bucket = ServedImage("image/jpeg", None, "https://bucket.example/a.jpg?sig=1")
    monkeypatch.setattr(runtime.uploads, "public_image", lambda key: bucket)
    response = lenient_client.get(image, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["x-content-type-options"] == "nosniff"
    # remove.bg's binary answer.
    response = lenient_client.post(
        REMOVEBG,
        files={"image_file": ("a.jpg", _PHOTO, "image/jpeg")},
        headers={"X-Api-Key": key},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
