from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi.testclient import TestClient

from backdrop.serving.node import EmbeddedNode
from tests.api.flow import upload
from tests.conftest import FakeClock, jpeg_bytes, png_bytes, subject_photo
from tests.pngs import png_by_hand

UPLOAD = "/external/api/v2/uploadImageUrl"


def _ask(client: TestClient, key: str, size: int, content_type: str = "image/jpeg") -> dict:
    response = client.post(
        UPLOAD,
        json={"uploadType": "imageUrl", "size": size, "contentType": content_type},
        headers={"x-api-key": key},
    )
    return {"status": response.status_code, **response.json()}


def test_upload_url_shape_and_roundtrip(client: TestClient, api_key: str) -> None:
    data = jpeg_bytes(subject_photo()[0])
    answer = _ask(client, api_key, len(data))
    assert answer["status"] == 200
    assert answer["statusCode"] == 2000 and answer["message"] == "SUCCESS"
    body = answer["body"]
    assert body["size"] == len(data)
    assert body["imageUrl"].startswith("http://testserver/images/uploads/")
    assert body["uploadImage"].startswith(body["imageUrl"] + "?")
    query = parse_qs(urlsplit(body["uploadImage"]).query)
    assert (
        int(query["expires"][0]) - int(client.app.state.services.uploads._clock().timestamp())
        == 3599
    )

    # Before the PUT the image does not exist yet.
    assert client.get(body["imageUrl"]).status_code == 404
    put = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200
    got = client.get(body["imageUrl"])
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["content-type"] == "image/jpeg"


def test_public_url_is_used_when_set(runtime: EmbeddedNode, api_key: str) -> None:
    from backdrop.api.app import create_app

    runtime.settings.public_url = "https://img.example.org/backdrop/"
    with TestClient(create_app(runtime.api)) as client:
        body = _ask(client, api_key, 100)["body"]
    assert body["imageUrl"].startswith("https://img.example.org/backdrop/images/uploads/")
    assert body["uploadImage"].startswith("https://img.example.org/backdrop/images/uploads/")


def test_size_limits(client: TestClient, api_key: str) -> None:
    # Over the limit is out of the documented range of `size`: a malformed request.
    too_big = _ask(client, api_key, 5_242_881)
    assert too_big["status"] == 400 and too_big["statusCode"] == 4000
    assert "5242880" in too_big["body"]["detail"]
    assert _ask(client, api_key, 5_242_880)["status"] == 200
    zero = _ask(client, api_key, 0)
    assert zero["status"] == 400 and zero["statusCode"] == 4000
    negative = _ask(client, api_key, -5)
    assert negative["status"] == 400


def test_content_types(client: TestClient, api_key: str) -> None:
    assert _ask(client, api_key, 10, "image/png")["status"] == 200
    assert _ask(client, api_key, 10, "image/webp")["status"] == 200
    gif = _ask(client, api_key, 10, "image/gif")
    assert gif["status"] == 415 and gif["statusCode"] == 4015
    assert "image/jpeg" in gif["body"]["detail"]


def test_put_rejects_wrong_size(client: TestClient, api_key: str) -> None:
    data = jpeg_bytes(subject_photo()[0])
    body = _ask(client, api_key, len(data))["body"]
    shorter = client.put(
        body["uploadImage"], content=data[:-10], headers={"Content-Type": "image/jpeg"}
    )
    assert shorter.status_code == 400 and shorter.json()["statusCode"] == 4010
    longer = client.put(
        body["uploadImage"], content=data + b"xx", headers={"Content-Type": "image/jpeg"}
    )
    assert longer.status_code == 413
    assert client.get(body["imageUrl"]).status_code == 404


def test_put_streamed_body_larger_than_declared_is_cut_off(
    client: TestClient, runtime: EmbeddedNode, api_key: str
) -> None:
    data = jpeg_bytes(subject_photo()[0])
    body = _ask(client, api_key, len(data))["body"]

    def chunks():  # no Content-Length: the server must count while it reads
        yield data
        yield b"\0" * 1_000_000

    response = client.put(
        body["uploadImage"], content=chunks(), headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 413
    leftovers = [p for p in runtime.store.root.rglob("*") if p.is_file()]
    assert leftovers == []


def test_put_rejects_html_sent_as_jpeg(client: TestClient, api_key: str) -> None:
    html = b"<!doctype html><html><body>hello</body></html>"
    body = _ask(client, api_key, len(html))["body"]
    response = client.put(body["uploadImage"], content=html, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 415
    assert response.json()["statusCode"] == 4015
    assert client.get(body["imageUrl"]).status_code == 404


def test_put_rejects_content_type_other_than_signed(client: TestClient, api_key: str) -> None:
    data = png_bytes(subject_photo()[0])
    body = _ask(client, api_key, len(data), "image/jpeg")["body"]
    response = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/png"})
    assert response.status_code == 415


def test_put_rejects_truncated_image(client: TestClient, api_key: str) -> None:
    data = jpeg_bytes(subject_photo()[0])[:3000]
    body = _ask(client, api_key, len(data))["body"]
    response = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 400
    assert response.json()["statusCode"] == 4009


def _bomb_png() -> bytes:
    """A valid-looking PNG header that claims 40000x40000 pixels."""
    return png_by_hand(40000, 40000, 8, 2, b"\0" * 1000)


def test_put_rejects_pixel_bomb(client: TestClient, api_key: str) -> None:
    data = _bomb_png()
    body = _ask(client, api_key, len(data), "image/png")["body"]
    response = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/png"})
    assert response.status_code == 413
    assert response.json()["statusCode"] == 4014


def test_tampered_signature_and_fields(client: TestClient, api_key: str) -> None:
    data = jpeg_bytes(subject_photo()[0])
    body = _ask(client, api_key, len(data))["body"]
    url = urlsplit(body["uploadImage"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    for field, value in [
        ("signature", "0" * 64),
        ("size", str(len(data) + 1)),
        ("expires", "9999999999"),
    ]:
        forged = {**query, field: value}
        response = client.put(
            f"{url.path}?{urlencode(forged)}", content=data, headers={"Content-Type": "image/jpeg"}
        )
        assert response.status_code == 403, field
        assert response.json()["statusCode"] == 4007
    # Another object key with a valid signature for the first one.
    other = url.path.replace(url.path.rsplit("/", 1)[1], "0" * 32 + ".jpg")
    response = client.put(
        f"{other}?{url.query}", content=data, headers={"Content-Type": "image/jpeg"}
    )
    assert response.status_code == 403


def test_expired_upload_url(client: TestClient, api_key: str, clock: FakeClock) -> None:
    data = jpeg_bytes(subject_photo()[0])
    body = _ask(client, api_key, len(data))["body"]
    clock.advance(3600)
    response = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert response.status_code == 403
    assert "expired" in response.json()["body"]["detail"]


def test_images_expire_after_24_hours_and_sweep_deletes_them(
    client: TestClient, runtime: EmbeddedNode, api_key: str, clock: FakeClock
) -> None:
    data = jpeg_bytes(subject_photo()[0])
    image_url = upload(client, api_key, data)
    clock.advance(23 * 3600)
    assert client.get(image_url).status_code == 200
    clock.advance(3601)
    assert client.get(image_url).status_code == 404
    report = runtime.sweeper.sweep()
    assert report.images == 1
    assert [p for p in runtime.store.root.rglob("*") if p.is_file()] == []


def test_path_traversal_is_refused(client: TestClient) -> None:
    for path in [
        "/images/uploads/..%2F..%2Fsigning.key",
        "/images/..%2Fdata/x.jpg",
        "/images/uploads/%2Fetc%2Fpasswd",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["statusCode"] in {4005, 4040}
