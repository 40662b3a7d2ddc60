"""The ImageStore contract, on the local filesystem and on a real S3 protocol server (moto)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from backdrop.errors import ImageNotFound
from backdrop.settings import StorageSettings
from backdrop.storage.image_store import ImageStore
from backdrop.storage.local import LocalImageStore
from backdrop.storage.s3 import S3ImageStore
from tests.infra import unique

DAY = 24 * 3600


def s3_store(endpoint: str, bucket: str | None = None) -> S3ImageStore:
    settings = StorageSettings(
        backend="s3", bucket=bucket or unique("bd-test"), endpoint_url=endpoint
    )
    store = S3ImageStore(settings, max_age_seconds=DAY)
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ImageStore:
    if request.param == "local":
        return LocalImageStore(tmp_path / "files")
    return s3_store(request.getfixturevalue("s3_endpoint"))


def test_write_read_size_delete(store: ImageStore) -> None:
    assert not store.exists("results/a.png")
    assert store.size("results/a.png") is None
    store.write("results/a.png", b"\x89PNG-bytes", "image/png")
    assert store.exists("results/a.png")
    assert store.size("results/a.png") == 10
    assert store.read("results/a.png") == b"\x89PNG-bytes"
    store.write("results/a.png", b"new", "image/png")
    assert store.read("results/a.png") == b"new"
    store.delete("results/a.png")
    store.delete("results/a.png")  # deleting twice is fine
    with pytest.raises(ImageNotFound):
        store.read("results/a.png")


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "/abs/key.png", "uploads/../x", "uploads\\x.png", "a/b/c.png", ""]
)
def test_both_stores_refuse_the_same_bad_keys(store: ImageStore, key: str) -> None:
    with pytest.raises(ImageNotFound):
        store.write(key, b"x", "image/png")
    with pytest.raises(ImageNotFound):
        store.read(key)


def test_local_store_serves_through_the_api_node(tmp_path: Path) -> None:
    store = LocalImageStore(tmp_path)
    assert store.upload_url("uploads/a.jpg", "image/jpeg", 3, 3599) is None
    assert store.download_url("uploads/a.jpg", 60) is None
    store.write("uploads/a.jpg", b"abc")
    assert store.local_path("uploads/a.jpg") == tmp_path / "uploads" / "a.jpg"


def test_presigned_put_is_signed_for_type_and_length(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    url = store.upload_url("uploads/a.jpg", "image/jpeg", 5, 3599)
    query = parse_qs(urlsplit(url).query)
    # Like LightX's uploadImage: the client must send exactly this type and length.
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host"]
    assert query["X-Amz-Expires"] == ["3599"]
    answer = httpx.put(url, content=b"hello", headers={"Content-Type": "image/jpeg"})
    assert answer.status_code == 200
    assert store.read("uploads/a.jpg") == b"hello"


def test_presigned_get_reads_the_object_for_the_time_given(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    store.write("results/r.png", b"result", "image/png")
    url = store.download_url("results/r.png", 2 * 3600)
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["7200"]
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"result"
    assert answer.headers["content-type"] == "image/png"


def test_a_missing_bucket_is_created_once(s3_endpoint: str) -> None:
    bucket = unique("bd-new")
    first = s3_store(s3_endpoint, bucket)
    first.write("uploads/x.png", b"x", "image/png")
    second = s3_store(s3_endpoint, bucket)  # a second node starting finds it and keeps it
    assert second.read("uploads/x.png") == b"x"


def test_s3_sweep_removes_only_objects_older_than_any_image_may_live(s3_endpoint: str) -> None:
    store = s3_store(s3_endpoint)
    store.write("results/new.png", b"x", "image/png")
    now = time.time()
    assert store.sweep_orphans(3600, now) == 0
    later = datetime.now(UTC).timestamp() + DAY + 3600 + 60
    assert store.sweep_orphans(3600, later) == 1
    assert not store.exists("results/new.png")
