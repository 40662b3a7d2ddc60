"""The API and orders on every queue backend (in-process pool, Celery over RabbitMQ and
Redis) and every store backend (local files, S3 through moto), on PostgreSQL."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from backdrop.engines.segmentation import Segmenter
from backdrop.serving.node import ApiNode, build_node
from backdrop.settings import QueueSettings, Settings, StorageSettings
from backdrop.uploads.signing import MissingSigningSecret
from tests.cluster.backends import COMBINATIONS, Node, node_settings, running_node
from tests.conftest import FakeClock, jpeg_bytes, png_bytes, subject_photo
from tests.engines.tiny_onnx import write_tiny_model


@pytest.fixture(params=COMBINATIONS, ids=["-".join(filter(None, c)) for c in COMBINATIONS])
def node(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_url: str,
    segmenter: Segmenter,
    clock: FakeClock,
) -> Iterator[Node]:
    queue, broker, store = request.param
    endpoint = request.getfixturevalue("s3_endpoint") if store == "s3" else None
    settings = node_settings(tmp_path / "data", postgres_url, queue, broker, store, endpoint)
    with running_node(settings, segmenter, clock) as started:
        yield started


def test_lightx_sequence_charges_once_and_serves_results(node: Node) -> None:
    key = node.runtime.keys.create("shop", 3).secret
    image_url = node.upload(key, jpeg_bytes(subject_photo()[0]))
    created = node.order(key, "remove-background", {"imageUrl": image_url, "background": "red"})
    assert created["status"] == "init" and created["maxRetriesAllowed"] == 5
    done = node.finished(key, created["orderId"])
    assert done["status"] == "active", done
    output = node.fetch(done["output"])
    assert output.status_code == 200
    picture = Image.open(io.BytesIO(output.content))
    assert picture.format == "PNG" and picture.size == (640, 480)
    assert picture.convert("RGB").getpixel((2, 2)) == (255, 0, 0)
    mask = Image.open(io.BytesIO(node.fetch(done["mask"]).content))
    assert mask.mode == "L"
    assert node.credits(key) == 2.5
    generated = node.order(
        key, "background-generator", {"imageUrl": image_url, "textPrompt": "beach"}
    )
    assert node.finished(key, generated["orderId"])["status"] == "active"
    assert node.credits(key) == 1.5


def test_uploads_go_where_the_store_says(node: Node) -> None:
    key = node.runtime.keys.create("shop", 1).secret
    data = jpeg_bytes(subject_photo(64, 48)[0])
    answer = node.ticket(key, len(data))
    upload = urlsplit(answer["uploadImage"])
    if node.settings.storage.backend == "s3":
        # A presigned PUT into the bucket, signed for the type and length (as LightX's).
        assert upload.netloc == urlsplit(node.settings.storage.endpoint_url or "").netloc
        query = parse_qs(upload.query)
        assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
        assert query["X-Amz-Expires"] == ["3599"]
        # Before the bytes arrive the imageUrl is not usable.
        early = node.client.post(
            "/external/api/v1/remove-background",
            json={"imageUrl": answer["imageUrl"]},
            headers={"x-api-key": key},
        )
        assert early.status_code == 404 and early.json()["statusCode"] == 4006
    else:
        assert upload.netloc == "testserver"
    assert node.put(answer["uploadImage"], data, "image/jpeg").status_code == 200
    assert node.fetch(answer["imageUrl"]).content == data


def test_bad_bytes_fail_the_order_with_a_reason_and_no_charge(node: Node) -> None:
    """PNG bytes sent to an upload URL signed for JPEG: the API node refuses them (local) or,
    as the bytes went straight to the bucket, the worker fails the order (s3)."""
    key = node.runtime.keys.create("shop", 1).secret
    data = png_bytes(subject_photo(64, 48)[0])
    answer = node.ticket(key, len(data))
    put = node.put(answer["uploadImage"], data, "image/jpeg")
    if node.settings.storage.backend == "local":
        assert put.status_code == 415
        return
    assert put.status_code == 200
    created = node.order(key, "remove-background", {"imageUrl": answer["imageUrl"]})
    done = node.finished(key, created["orderId"])
    assert done["status"] == "failed" and "image/png" in done["reason"]
    assert node.credits(key) == 1


def test_truncated_upload_is_refused_or_fails_uncharged(node: Node) -> None:
    key = node.runtime.keys.create("shop", 1).secret
    data = jpeg_bytes(subject_photo(200, 150)[0])
    data = data[: len(data) // 2] + b"\0" * (len(data) - len(data) // 2)
    if node.settings.storage.backend == "local":
        # The bytes pass through this node, which decodes them before keeping them.
        ticket = node.ticket(key, len(data))
        put = node.put(ticket["uploadImage"], data, "image/jpeg")
        assert put.status_code == 400 and put.json()["statusCode"] == 4009
        assert node.credits(key) == 1
        return
    # Straight into the bucket: the worker finds out, and the order fails uncharged.
    image_url = node.upload(key, data)
    done = node.finished(
        key, node.order(key, "remove-background", {"imageUrl": image_url})["orderId"]
    )
    assert done["status"] == "failed" and done["reason"]
    assert node.credits(key) == 1


def test_orders_and_images_of_other_keys_stay_hidden(node: Node) -> None:
    alice = node.runtime.keys.create("alice", 1).secret
    bob = node.runtime.keys.create("bob", 1).secret
    image_url = node.upload(alice, jpeg_bytes(subject_photo(64, 48)[0]))
    refused = node.client.post(
        "/external/api/v1/remove-background",
        json={"imageUrl": image_url},
        headers={"x-api-key": bob},
    )
    assert refused.status_code == 404 and refused.json()["statusCode"] == 4006
    order_id = node.order(alice, "remove-background", {"imageUrl": image_url})["orderId"]
    hidden = node.client.post(
        "/external/api/v1/order-status", json={"orderId": order_id}, headers={"x-api-key": bob}
    )
    assert hidden.status_code == 404
    node.finished(alice, order_id)


def test_image_urls_work_for_24_hours_and_not_after(node: Node, clock: FakeClock) -> None:
    key = node.runtime.keys.create("shop", 1).secret
    image_url = node.upload(key, jpeg_bytes(subject_photo(64, 48)[0]))
    done = node.finished(
        key, node.order(key, "remove-background", {"imageUrl": image_url})["orderId"]
    )
    assert node.fetch(done["output"]).status_code == 200
    redirect = node.client.get(done["output"], follow_redirects=False)
    if redirect.status_code == 307:
        # The presigned GET ends when the image does.
        expires = int(parse_qs(urlsplit(redirect.headers["location"]).query)["X-Amz-Expires"][0])
        assert 24 * 3600 - 120 <= expires <= 24 * 3600
    clock.advance(24 * 3600 + 1)
    assert node.client.get(done["output"], follow_redirects=False).status_code == 404
    report = node.runtime.sweeper.sweep()
    assert report.images == 3 and report.orders == 1
    store = node.runtime.store
    assert not store.exists(urlsplit(done["output"]).path.split("/images/", 1)[1])


def test_an_api_node_of_a_cluster_loads_no_model(tmp_path: Path, postgres_url: str) -> None:
    settings = node_settings(tmp_path / "data", postgres_url, "celery", "rabbitmq", "local", None)
    runtime = build_node(settings)
    try:
        assert isinstance(runtime, ApiNode)
        assert not hasattr(runtime, "segmenters") and not hasattr(runtime, "runner")
    finally:
        runtime.db.dispose()


def test_a_model_declared_in_models_json_is_taken_by_an_api_node(
    tmp_path: Path, postgres_url: str, segmenter: Segmenter, clock: FakeClock
) -> None:
    """The API node loads no model, yet knows the operator's models.json as its workers do:
    an order naming such a model runs on a worker; an undeclared id is still refused."""
    config = tmp_path / "models.json"
    tiny = write_tiny_model(tmp_path / "tiny-u2net.onnx", 320)
    config.write_text(json.dumps({"tiny-local": {"preset": "u2net", "path": str(tiny)}}))
    settings = node_settings(tmp_path / "data", postgres_url, "celery", "rabbitmq", "local", None)
    settings.models_config = config
    with running_node(settings, segmenter, clock) as node:
        key = node.runtime.keys.create("shop", 2).secret
        image_url = node.upload(key, jpeg_bytes(subject_photo()[0]))
        created = node.order(
            key, "remove-background", {"imageUrl": image_url, "model": "tiny-local"}
        )
        assert node.finished(key, created["orderId"])["status"] == "active"
        refused = node.client.post(
            "/external/api/v1/remove-background",
            json={"imageUrl": image_url, "model": "not-declared"},
            headers={"x-api-key": key},
        )
        assert refused.json()["message"] == "UNKNOWN_MODEL"
        assert "tiny-local" in refused.json()["body"]["detail"]


@pytest.mark.parametrize(
    "scale_out",
    [QueueSettings(backend="celery"), StorageSettings(backend="s3")],
    ids=["celery", "s3"],
)
def test_a_scale_out_node_without_the_signing_secret_refuses_to_start(
    tmp_path: Path, scale_out: QueueSettings | StorageSettings
) -> None:
    field = "queue" if isinstance(scale_out, QueueSettings) else "storage"
    settings = Settings(data_dir=tmp_path / "data", **{field: scale_out})  # type: ignore[arg-type]
    with pytest.raises(MissingSigningSecret, match="BACKDROP_SIGNING_SECRET"):
        build_node(settings)
    short = Settings(data_dir=tmp_path / "data", signing_secret="short", **{field: scale_out})  # type: ignore[arg-type]
    with pytest.raises(MissingSigningSecret, match="at least 32"):
        build_node(short)


def test_serve_without_the_signing_secret_exits_saying_why(tmp_path: Path) -> None:
    from tests.cli.process import run_backdrop

    result = run_backdrop(
        "serve",
        data_dir=tmp_path / "data",
        BACKDROP_QUEUE__BACKEND="celery",
        BACKDROP_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}",
    )
    assert result.returncode == 1
    assert "BACKDROP_SIGNING_SECRET is not set" in result.stderr
    assert "same secret" in result.stderr
