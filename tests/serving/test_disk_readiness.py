"""Readiness on a full disk: /readyz and /health answer 503 while a real (tmpfs) disk is full,
200 again once space is freed; /livez stays 200. The probe is a real write, cached."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backdrop.serving.node import EmbeddedNode
from backdrop.serving.write_probe import WriteProbe
from backdrop.settings import Settings
from tests.disks import SmallDisk, small_disk

# Where the small disk is mounted -> how readiness names it.
_NAMES = {"data": "data directory", "files": "files directory"}


@pytest.fixture
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SmallDisk]:
    """The whole data dir (SQLite included) or only the files dir on a 16 MiB tmpfs."""
    where = getattr(request, "param", "files")
    data = tmp_path / "data"
    with small_disk(data if where == "data" else data / "files") as mounted:
        yield mounted


@pytest.fixture
def settings(disk: SmallDisk, tmp_path: Path) -> Settings:
    # Built after the mount, so the node's database and files land on the small disk.
    return Settings(data_dir=tmp_path / "data", public_url=None, database_url=None)


def _unavailable(detail: str) -> dict[str, object]:
    return {"statusCode": 5031, "message": "SERVICE_UNAVAILABLE", "body": {"detail": detail}}


@pytest.mark.parametrize("disk", ["data", "files"], indirect=True)
def test_readiness_is_503_while_the_disk_is_full_and_200_once_freed(
    client: TestClient, runtime: EmbeddedNode, disk: SmallDisk, request: pytest.FixtureRequest
) -> None:
    runtime.write_probe.interval = 0  # probe on every call here; the cache is tested below
    for path in ("/readyz", "/health", "/livez"):
        assert client.get(path).status_code == 200, path
    disk.fill()
    name = _NAMES[request.node.callspec.params["disk"]]
    for path in ("/readyz", "/health"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert response.json() == _unavailable(
            f"the {name} is full; writes fail until space is freed"
        )
    # Liveness asks nothing of the disk: a full one must not get the process restarted.
    assert client.get("/livez").status_code == 200
    # The probe cleaned up after itself, even when its write failed.
    assert not [name for name in disk.files() if ".probe-" in name]
    disk.free()
    for path in ("/readyz", "/health"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["body"]["status"] == "ok"


def test_the_probe_writes_at_most_once_per_interval(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size="1m") as disk:
        now = [0.0]
        probe = WriteProbe({"data directory": disk.root}, interval=5, clock=lambda: now[0])
        assert probe.problem() is None
        disk.fill()
        # Within the interval the last answer stands: health checks do not hammer the disk.
        now[0] = 4.9
        assert probe.problem() is None
        now[0] = 5.0
        assert probe.problem() == "the data directory is full; writes fail until space is freed"
        disk.free()
        now[0] = 9.9
        assert probe.problem() is not None
        now[0] = 10.0
        assert probe.problem() is None
        assert disk.files() == []


def test_a_read_only_disk_is_not_ready_either(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size="1m") as disk:
        probe = WriteProbe({"data directory": disk.root}, interval=0)
        assert probe.problem() is None
        subprocess.run(["mount", "-o", "remount,ro", str(disk.root)], check=True)
        try:
            assert probe.problem() == "the data directory cannot be written (Read-only file system)"
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk.root)], check=True)
        assert probe.problem() is None
