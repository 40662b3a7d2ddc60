"""Shared fixtures: real settings in a temp data dir, the real model, a running runtime."""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import create_engine, text

from backdrop.api.app import create_app
from backdrop.engines.segmentation import Segmenter
from backdrop.kinds import Operation
from backdrop.orders.lifecycle import OrderView
from backdrop.orders.params import RemovalParams, background_from_text
from backdrop.serving.node import EmbeddedNode, build_node
from backdrop.settings import Settings

# Scale-out infrastructure: moto's S3 server, broker URLs (tests/infra.py).
pytest_plugins = ["tests.infra"]

POSTGRES_ADMIN_URL = os.environ.get(
    "BACKDROP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class FakeClock:
    """A clock tests can move forward (to expire URLs and images)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def segmenter() -> Segmenter:
    """The real default model, loaded once for the whole run (`make test` fetches it)."""
    from backdrop.engines.placement import create_segmenter

    settings = Settings()
    return create_segmenter(
        settings.segmentation_model, models_dir=settings.models_dir, inference=settings.inference
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", public_url=None, database_url=None)


@pytest.fixture(autouse=True)
def patient_admission(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests queue orders faster than any client would: admission's bound on the expected time
    is out of their way unless a test sets it (tests/api/test_admission.py,
    tests/serving/test_drain.py)."""
    monkeypatch.setenv("BACKDROP_WORKER__MAX_WAIT_SECONDS", "3600")
    # Timing a 1 MP order of each kind at every start would cost each test seconds; the
    # tests of that measurement turn it on.
    monkeypatch.setenv("BACKDROP_WORKER__MEASURE_AT_START", "false")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def embedded(settings: Settings, segmenter: Segmenter, clock: FakeClock) -> EmbeddedNode:
    """The embedded node `backdrop serve` builds by default (not started)."""
    node = build_node(settings, segmenter=segmenter, clock=clock)
    assert isinstance(node, EmbeddedNode)
    return node


def place_removal(
    node: EmbeddedNode, key_id: str, image_key: str, background: str | None = None
) -> OrderView:
    """A remove-background order of `key_id` created and queued as the desk does, without
    the desk's admission limits (tests that count orders or credits place them directly)."""
    node.uploads.owned_image(key_id, image_key)
    params = RemovalParams(background=background_from_text(background))
    order = node.lifecycle.create(key_id, Operation.REMOVE_BACKGROUND, image_key, params)
    node.pool.submit(order.id, owner=key_id, kind=order.operation)
    return order


@pytest.fixture
def runtime(settings: Settings, segmenter: Segmenter, clock: FakeClock) -> Iterator[EmbeddedNode]:
    rt = embedded(settings, segmenter, clock)
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture
def client(runtime: EmbeddedNode) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.api)) as test_client:
        yield test_client


@pytest.fixture
def base_url(runtime: EmbeddedNode) -> Iterator[str]:
    """`runtime` served over real HTTP on a free port of 127.0.0.1."""
    from tests.client.live import live_server

    with live_server(runtime) as url:
        yield url


@pytest.fixture
def api_key(runtime: EmbeddedNode) -> str:
    return runtime.keys.create("test", 10).secret


def subject_photo(width: int = 640, height: int = 480) -> tuple[Image.Image, np.ndarray]:
    """A test-made photo: a shaded orange ball on a soft blue-grey backdrop, and its true mask."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = np.stack(
        [
            170 + 30 * yy / height,
            180 + 25 * yy / height,
            200 + 20 * yy / height,
        ],
        axis=-1,
    )
    cx, cy, r = width * 0.5, height * 0.55, min(width, height) * 0.3
    dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    inside = dist <= r
    # Lambert shading from the upper left gives the ball a 3-D, object-like look.
    nz = np.sqrt(np.clip(1 - (dist / r) ** 2, 0, 1))
    nx, ny = (xx - cx) / r, (yy - cy) / r
    light = np.clip(-0.5 * nx - 0.5 * ny + 0.7 * nz, 0, 1) * 0.8 + 0.2
    ball = np.stack([235 * light, 120 * light, 30 * light], axis=-1)
    pixels = np.where(inside[..., None], ball, background)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    mask = inside.astype(np.uint8) * 255
    return image, mask


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server for one test, dropped afterwards."""
    name = f"backdrop_test_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Storage-layer tests run on both backends users meet: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
