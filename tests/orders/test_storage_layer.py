"""The service layer on both databases users meet: SQLite (default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect

from backdrop.accounts.api_keys import ApiKeys
from backdrop.db.session import Database
from backdrop.engines.segmentation import Segmenter
from backdrop.errors import CreditsConsumed, InvalidApiKey, InvalidImageUrl, OrderNotFound
from backdrop.kinds import OrderStatus
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.conftest import FakeClock, embedded, jpeg_bytes, place_removal, subject_photo


@pytest.fixture
def rt(
    tmp_path: Path, database_url: str, segmenter: Segmenter, clock: FakeClock
) -> Iterator[EmbeddedNode]:
    settings = Settings(data_dir=tmp_path / "data", database_url=database_url)
    runtime = embedded(settings, segmenter, clock)
    yield runtime
    runtime.db.dispose()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


def _upload(rt: EmbeddedNode, key_id: str, data: bytes) -> str:
    ticket = rt.uploads.request_upload(key_id, len(data), "image/jpeg")
    asyncio.run(
        rt.uploads.receive(ticket.grant, ticket.signature, "image/jpeg", len(data), _chunks(data))
    )
    return ticket.grant.object_key


def test_migrations_create_the_schema(rt: EmbeddedNode) -> None:
    tables = set(inspect(rt.db.engine).get_table_names())
    assert {"api_keys", "images", "orders", "alembic_version"} <= tables
    # Running the migrations again is a no-op.
    from backdrop.db.migrate import upgrade

    upgrade(rt.db.engine)


def test_keys_are_hashed_and_listed_without_secrets(rt: EmbeddedNode) -> None:
    new = rt.keys.create("alice", 2.5)
    assert rt.keys.authenticate(new.secret).credits == 2.5
    with pytest.raises(InvalidApiKey):
        rt.keys.authenticate(new.secret + "x")
    with rt.db.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT secret_hash FROM api_keys").scalar_one()
    assert new.secret not in stored
    assert [k.name for k in rt.keys.list()] == ["alice"]


def test_order_lifecycle_and_charging(rt: EmbeddedNode) -> None:
    key = rt.keys.create("k", 1).info
    image_key = _upload(rt, key.id, jpeg_bytes(subject_photo()[0]))
    order = place_removal(rt, key.id, image_key, "#123456")
    assert order.status == OrderStatus.INIT.value
    rt.runner.run(order.id)
    done = rt.orders.status(key.id, order.id)
    assert done.status == "active" and done.output_key and done.mask_key
    assert rt.store.exists(done.output_key)
    assert rt.keys.get(key.id).credits == 0.5
    # Running an order twice changes nothing.
    rt.runner.run(order.id)
    assert rt.keys.get(key.id).credits == 0.5


def test_credit_check_reserves_pending_orders(rt: EmbeddedNode) -> None:
    key = rt.keys.create("k", 1).info
    image_key = _upload(rt, key.id, jpeg_bytes(subject_photo()[0]))
    place_removal(rt, key.id, image_key)
    place_removal(rt, key.id, image_key)
    with pytest.raises(CreditsConsumed):
        place_removal(rt, key.id, image_key)


def test_concurrent_orders_cannot_overspend(rt: EmbeddedNode) -> None:
    key = rt.keys.create("k", 2).info
    image_key = _upload(rt, key.id, jpeg_bytes(subject_photo()[0]))
    accepted: list[str] = []
    refused: list[Exception] = []
    lock = threading.Lock()

    def place() -> None:
        try:
            view = place_removal(rt, key.id, image_key)
            with lock:
                accepted.append(view.id)
        except CreditsConsumed as error:
            with lock:
                refused.append(error)

    threads = [threading.Thread(target=place) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(accepted) == 4 and len(refused) == 4


def test_isolation_between_keys(rt: EmbeddedNode) -> None:
    alice = rt.keys.create("alice", 5).info
    bob = rt.keys.create("bob", 5).info
    image_key = _upload(rt, alice.id, jpeg_bytes(subject_photo()[0]))
    with pytest.raises(InvalidImageUrl):
        place_removal(rt, bob.id, image_key)
    order = place_removal(rt, alice.id, image_key)
    with pytest.raises(OrderNotFound):
        rt.orders.status(bob.id, order.id)


def test_sweeper_deletes_expired_images_and_orders(rt: EmbeddedNode, clock: FakeClock) -> None:
    key = rt.keys.create("k", 5).info
    image_key = _upload(rt, key.id, jpeg_bytes(subject_photo()[0]))
    order = place_removal(rt, key.id, image_key)
    rt.runner.run(order.id)
    assert rt.sweeper.sweep().images == 0
    clock.advance(24 * 3600 + 1)
    report = rt.sweeper.sweep()
    assert report.images == 3 and report.orders == 1
    assert not any(p.is_file() for p in rt.store.root.rglob("*"))
    with pytest.raises(OrderNotFound):
        rt.orders.status(key.id, order.id)


def test_services_share_one_database(tmp_path: Path, database_url: str, clock: FakeClock) -> None:
    """Two Database objects on one URL (an API process and a worker) see the same rows."""

    from backdrop.db.migrate import upgrade

    first, second = Database(database_url), Database(database_url)
    upgrade(first.engine)
    key = ApiKeys(first, clock).create("shared", 3)
    assert ApiKeys(second, clock).authenticate(key.secret).credits == 3
    for db in (first, second):
        db.dispose()
