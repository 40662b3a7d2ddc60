"""Cancelling a one-call order whose answer was not handed over: uncharged, results gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backdrop.engines.segmentation import Segmenter
from backdrop.errors import ClientGone
from backdrop.kinds import FailureCode, OrderStatus
from backdrop.orders.lifecycle import OrderView
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import Settings
from tests.conftest import FakeClock, embedded, jpeg_bytes, place_removal, subject_photo


@pytest.fixture
def rt(tmp_path: Path, segmenter: Segmenter, clock: FakeClock) -> Iterator[EmbeddedNode]:
    node = embedded(Settings(data_dir=tmp_path / "data"), segmenter, clock)  # pool not started
    yield node
    node.db.dispose()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _order(rt: EmbeddedNode) -> tuple[str, OrderView]:
    key = rt.keys.create("k", 1).info
    data = jpeg_bytes(subject_photo(96, 72)[0])
    ticket = rt.uploads.request_upload(key.id, len(data), "image/jpeg")
    asyncio.run(
        rt.uploads.receive(ticket.grant, ticket.signature, "image/jpeg", len(data), _once(data))
    )
    return key.id, place_removal(rt, key.id, ticket.grant.object_key)


def test_a_finished_order_is_refunded_and_loses_its_results(rt: EmbeddedNode) -> None:
    key_id, order = _order(rt)
    rt.runner.run(order.id)
    done = rt.orders.status(key_id, order.id)
    assert done.status is OrderStatus.ACTIVE and rt.keys.get(key_id).credits == 0.5
    files = rt.lifecycle.cancel(order.id, "the client hung up")
    assert sorted(files) == sorted([done.output_key, done.mask_key])
    cancelled = rt.orders.status(key_id, order.id)
    assert (cancelled.status, cancelled.failure_code) == (OrderStatus.FAILED, FailureCode.CANCELLED)
    assert cancelled.output_key is None and rt.keys.get(key_id).credits == 1.0
    assert rt.lifecycle.cancel(order.id, "again") == []  # once only: no second refund
    assert rt.keys.get(key_id).credits == 1.0


def test_a_running_order_cancelled_is_never_charged(rt: EmbeddedNode) -> None:
    key_id, order = _order(rt)
    assert rt.lifecycle.cancel(order.id, "the server restarted") == []
    rt.runner.run(order.id)  # the claim finds it failed: nothing runs, nothing is charged
    assert rt.orders.status(key_id, order.id).failure_code is FailureCode.CANCELLED
    assert rt.keys.get(key_id).credits == 1.0


def test_deliver_keeps_the_charge_only_when_the_client_is_there(rt: EmbeddedNode) -> None:
    desk = rt.api.desk
    key_id, order = _order(rt)
    rt.runner.run(order.id)

    async def there() -> bool:
        return False

    async def answer(done: OrderView) -> str:
        return done.id

    assert asyncio.run(desk.deliver(key_id, order.id, there, answer)) == order.id
    assert rt.keys.get(key_id).credits == 0.5

    second_key, second = _order(rt)
    rt.runner.run(second.id)
    hung_up = iter([False, True])  # there while waiting, gone once the answer is made

    async def gone() -> bool:
        return next(hung_up)

    with pytest.raises(ClientGone):
        asyncio.run(desk.deliver(second_key, second.id, gone, answer))
    assert rt.keys.get(second_key).credits == 1.0
    assert rt.orders.status(second_key, second.id).failure_code is FailureCode.CANCELLED
