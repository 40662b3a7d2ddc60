"""Writes on a full disk: 507 INSUFFICIENT_STORAGE (LightX envelope, remove.bg's shape), nothing
half-written kept or served, upload URLs usable again once space is back, orders uncharged.

The files dir is a real 16 MiB tmpfs (tests/disks.py), filled with a file until ENOSPC; the
database stays on the ordinary disk so that only the files disk is full.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from backdrop.api.envelope import install_error_handlers
from backdrop.api.removebg.errors import RemoveBgRoute
from backdrop.errors import storage_full
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.api.flow import finished, order
from tests.conftest import jpeg_bytes, subject_photo
from tests.disks import SmallDisk, small_disk

UPLOAD_URL = "/external/api/v2/uploadImageUrl"
FULL = {
    "statusCode": 5070,
    "message": "INSUFFICIENT_STORAGE",
    "body": {"detail": "the server's storage is full; try again later"},
}
REMOVEBG_FULL = {
    "errors": [
        {
            "title": "Insufficient storage",
            "code": "insufficient_storage",
            "detail": "the server's storage is full; try again later",
        }
    ]
}


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "data" / "files") as mounted:
        yield mounted


@pytest.fixture
def settings(disk: SmallDisk, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url=None, database_url=None)


def _photo() -> bytes:
    return jpeg_bytes(subject_photo()[0])


def _ask(client: TestClient, key: str, size: int) -> Any:
    return client.post(
        UPLOAD_URL,
        json={"uploadType": "imageUrl", "size": size, "contentType": "image/jpeg"},
        headers={"x-api-key": key},
    )


def _credits(client: TestClient, key: str) -> float:
    response = client.get("/external/api/v1/account", headers={"x-api-key": key})
    credits: float = response.json()["body"]["credits"]
    return credits


def test_upload_url_is_507_while_the_files_disk_is_full(
    client: TestClient, disk: SmallDisk, api_key: str
) -> None:
    disk.fill()
    response = _ask(client, api_key, len(_photo()))
    assert response.status_code == 507
    assert response.json() == FULL
    disk.free()
    assert _ask(client, api_key, len(_photo())).status_code == 200


def test_put_on_a_full_disk_is_507_keeps_nothing_and_the_url_works_once_freed(
    client: TestClient, disk: SmallDisk, api_key: str
) -> None:
    data = _photo()
    body = _ask(client, api_key, len(data)).json()["body"]
    # Room for half the image: the staged file is really cut short by ENOSPC midway.
    disk.fill(leave=len(data) // 2)
    free_before = disk.free_bytes
    put = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 507, put.text
    assert put.json() == FULL
    # Nothing half-written is left on the disk (its space is back too), nor served.
    assert disk.files() == []
    assert disk.free_bytes == free_before
    assert client.get(body["imageUrl"]).status_code == 404
    # Once space is back the same signed URL takes the upload: it was never used up.
    disk.free()
    put = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200, put.text
    served = client.get(body["imageUrl"])
    assert served.status_code == 200 and served.content == data


def test_removebg_is_507_in_its_shape_and_charges_nothing(
    client: TestClient, disk: SmallDisk, api_key: str
) -> None:
    disk.fill()
    response = client.post(
        "/v1.0/removebg",
        headers={"X-Api-Key": api_key},
        files={"image_file": ("ball.jpg", _photo(), "image/jpeg")},
    )
    assert response.status_code == 507, response.text
    assert response.json() == REMOVEBG_FULL
    assert _credits(client, api_key) == 10
    assert disk.files() == []


def test_an_order_finishing_on_a_full_disk_fails_uncharged_and_leaves_nothing(
    client: TestClient, runtime: EmbeddedNode, disk: SmallDisk, api_key: str
) -> None:
    data = _photo()
    body = _ask(client, api_key, len(data)).json()["body"]
    put = client.put(body["uploadImage"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 200
    uploaded = disk.files()
    assert len(uploaded) == 1 and uploaded[0].startswith("uploads/")
    # A few KiB: the result file is started, then cut short by ENOSPC.
    disk.fill(leave=8192)
    free_before = disk.free_bytes
    created = order(client, api_key, "remove-background", {"imageUrl": body["imageUrl"]})
    status = finished(client, runtime, api_key, created["orderId"])
    assert status["status"] == "failed", status
    assert status["output"] is None and status["mask"] is None
    assert status["reason"] == "the server's storage is full; the result could not be stored"
    assert _credits(client, api_key) == 10
    # No result and no temporary file under the files dir; the partial file's space is back.
    assert disk.files() == uploaded
    assert disk.free_bytes == free_before


# The one mapping, on the errors the layers really raise: a write to the full tmpfs (OSError),
# and SQLite refusing to grow (SQLITE_FULL, wrapped by SQLAlchemy as the server meets it).


def _real_enospc(disk: SmallDisk) -> None:
    disk.fill()
    (disk.root / "more").write_bytes(bytes(65536))


def _real_sqlite_full(folder: Path) -> None:
    engine = create_engine(f"sqlite:///{folder / f'{secrets.token_hex(4)}.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x BLOB)"))
        with engine.begin() as connection:
            # A database that may not grow past its current size: the next page is refused.
            connection.execute(text("PRAGMA max_page_count = 2"))
            for _ in range(10):
                connection.execute(text("INSERT INTO t VALUES (randomblob(4000))"))
    finally:
        engine.dispose()


def _mapping_app(disk: SmallDisk, tmp_path: Path) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    removebg = APIRouter(route_class=RemoveBgRoute)

    @app.post("/file")
    @removebg.post("/removebg/file")
    def write_file() -> None:
        _real_enospc(disk)

    @app.post("/db")
    @removebg.post("/removebg/db")
    def write_db() -> None:
        _real_sqlite_full(tmp_path)

    @app.post("/other")
    def other_os_error() -> None:
        (tmp_path / "no-such-folder" / "x").write_bytes(b"x")

    app.include_router(removebg)
    return app


def test_full_disk_errors_map_to_507_and_others_stay_500(disk: SmallDisk, tmp_path: Path) -> None:
    with TestClient(_mapping_app(disk, tmp_path), raise_server_exceptions=False) as client:
        for path in ("/file", "/db"):
            response = client.post(path)
            assert response.status_code == 507, path
            assert response.json() == FULL
            response = client.post(f"/removebg{path}")
            assert response.status_code == 507, path
            assert response.json() == REMOVEBG_FULL
        disk.free()
        other = client.post("/other")
        assert other.status_code == 500
        assert other.json()["message"] == "INTERNAL_ERROR"


def test_storage_full_knows_each_layers_words() -> None:
    import psycopg.errors

    assert storage_full(OSError(28, "No space left on device")) is not None
    assert storage_full(OSError(122, "Disk quota exceeded")) is not None
    assert storage_full(OSError(13, "Permission denied")) is None
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # what sqlite3 sets on a real SQLITE_FULL (see above)
    assert storage_full(full) is not None
    assert storage_full(psycopg.errors.DiskFull("could not extend file")) is not None
    assert storage_full(psycopg.errors.OperationalError("server closed")) is None
    # Wrapped the way the server's code does it: `raise ... from error`.
    try:
        try:
            raise OSError(28, "No space left on device")
        except OSError as error:
            raise RuntimeError("could not store") from error
    except RuntimeError as wrapped:
        assert storage_full(wrapped) is not None
