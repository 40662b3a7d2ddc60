"""Claiming orders with a lease (compare-and-set on the row), on SQLite and PostgreSQL.

A second delivery of an order runs nothing; a run whose lease expired loses the order to
another run and deletes only its own results; stalled orders are queued again; one process
in the cluster holds the sweeper lock.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, update

from backdrop.db.locks import ClusterLock
from backdrop.db.models import ApiKey, Order
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.segmenters import Segmenters
from backdrop.orders.housekeeping import SWEEPER_LOCK_KEY
from backdrop.orders.runner import OrderRunner
from backdrop.serving.node import EmbeddedNode
from backdrop.settings import QueueSettings, Settings
from tests.conftest import FakeClock, embedded, jpeg_bytes, place_removal, png_bytes, subject_photo
from tests.orders.test_storage_layer import _chunks

LEASE = 30.0


class GatedSegmenter:
    """The real model, held at `predict` until the test opens the gate."""

    def __init__(self, inner: Segmenter) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.gate = threading.Event()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def predict(self, image: Image.Image) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(60)
        return self.inner.predict(image)


@pytest.fixture
def rt(
    tmp_path: Path, database_url: str, segmenter: Segmenter, clock: FakeClock
) -> Iterator[EmbeddedNode]:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        queue=QueueSettings(lease_seconds=LEASE),
    )
    runtime = embedded(settings, segmenter, clock)
    yield runtime
    runtime.db.dispose()


def _runner(rt: EmbeddedNode, segmenter: Segmenter, name: str, clock: FakeClock) -> OrderRunner:
    """A second worker on the same database and store, with its own identity."""
    assert rt.segmenters is not None
    settings = rt.settings
    segmenters = Segmenters(
        rt.segmenters.catalog,
        settings.models_dir,
        default_model=settings.segmentation_model,
        preloaded=segmenter,
    )
    return OrderRunner(rt.db, rt.store, settings, segmenters, clock=clock, worker_id=name)


def _order(
    rt: EmbeddedNode, data: bytes | None = None, content_type: str = "image/jpeg"
) -> tuple[str, str]:
    key = rt.keys.create("k", 5).info
    data = data or jpeg_bytes(subject_photo(320, 240)[0])
    ticket = rt.uploads.request_upload(key.id, len(data), content_type)
    asyncio.run(
        rt.uploads.receive(ticket.grant, ticket.signature, content_type, len(data), _chunks(data))
    )
    return key.id, place_removal(rt, key.id, ticket.grant.object_key).id


def _row(rt: EmbeddedNode, order_id: str) -> Order:
    with rt.db.unit_of_work() as session:
        order = session.scalar(select(Order).where(Order.id == order_id))
        assert order is not None
        return order


def test_of_two_claims_exactly_one_wins(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    _, order_id = _order(rt)
    first = _runner(rt, segmenter, "node-a", clock).claim(order_id)
    second = _runner(rt, segmenter, "node-b", clock).claim(order_id)
    assert first is not None and second is None
    row = _row(rt, order_id)
    assert row.lease_owner == first.owner and row.attempts == 1
    assert first.owner.startswith("node-a:")


def test_a_duplicate_delivery_runs_once_and_charges_once(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    key_id, order_id = _order(rt)
    a, b = _runner(rt, segmenter, "a", clock), _runner(rt, segmenter, "b", clock)
    # The same message handed to two workers at once.
    threads = [threading.Thread(target=r.run, args=(order_id,)) for r in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = _row(rt, order_id)
    assert row.status == "active" and row.attempts == 1 and row.charged_cents == 50
    assert rt.keys.get(key_id).credits == 4.5
    assert row.lease_owner is None
    results = sorted(p.name for p in (rt.settings.files_dir / "results").iterdir())
    assert len(results) == 2 and all(name.startswith(order_id) for name in results)


def test_an_expired_lease_is_taken_over_and_the_late_run_deletes_only_its_own_results(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    key_id, order_id = _order(rt)
    gated = GatedSegmenter(segmenter)
    slow = _runner(rt, gated, "slow", clock)  # type: ignore[arg-type]
    thread = threading.Thread(target=slow.run, args=(order_id,))
    thread.start()
    assert gated.entered.wait(30)
    # The slow worker looks dead: its lease runs out and another worker takes the order.
    clock.advance(LEASE + 1)
    _runner(rt, segmenter, "fast", clock).run(order_id)
    done = _row(rt, order_id)
    assert done.status == "active" and done.attempts == 2
    assert done.output_key is not None and done.mask_key is not None
    gated.gate.set()
    thread.join(60)
    after = _row(rt, order_id)
    assert (after.status, after.output_key, after.mask_key) == (
        "active",
        done.output_key,
        done.mask_key,
    )
    assert rt.store.read(done.output_key) and rt.store.read(done.mask_key)
    # The slow run's results are gone; only the winner's two files remain.
    assert len(list((rt.settings.files_dir / "results").iterdir())) == 2
    assert rt.keys.get(key_id).credits == 4.5


def test_credits_spent_before_the_order_finishes_fail_it_uncharged_and_leave_no_results(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    key_id, order_id = _order(rt)
    # Other orders of the key spent its balance after this one was accepted.
    with rt.db.unit_of_work() as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(credit_cents=0))
    _runner(rt, segmenter, "a", clock).run(order_id)
    row = _row(rt, order_id)
    assert (row.status, row.failure_reason, row.charged_cents) == (
        "failed",
        "API credits consumed",
        0,
    )
    assert row.output_key is None and row.lease_owner is None
    assert rt.keys.get(key_id).credits == 0
    # The results written before the charge failed are deleted, not left for the sweeper.
    assert list((rt.settings.files_dir / "results").iterdir()) == []


def test_a_held_lease_is_renewed_while_the_order_runs(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    _, order_id = _order(rt)
    runner = _runner(rt, segmenter, "a", clock)
    job = runner.claim(order_id)
    assert job is not None
    clock.advance(LEASE - 1)
    assert runner.renew(job)
    clock.advance(LEASE - 1)  # past the first expiry, inside the renewed one
    assert _runner(rt, segmenter, "b", clock).claim(order_id) is None


def test_stalled_orders_are_queued_again_once_per_deadline(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    _, order_id = _order(rt)
    assert _runner(rt, segmenter, "dead", clock).claim(order_id) is not None
    assert rt.lifecycle.requeue_stalled() == []
    clock.advance(LEASE + 1)
    assert rt.lifecycle.requeue_stalled() == [order_id]
    assert rt.lifecycle.requeue_stalled() == []  # not again at the next pass
    row = _row(rt, order_id)
    assert row.lease_owner is None
    # Freed: the next worker that gets the message claims it at once.
    _runner(rt, segmenter, "alive", clock).run(order_id)
    assert _row(rt, order_id).status == "active"


def test_an_unclaimed_order_whose_message_was_lost_is_queued_again(
    rt: EmbeddedNode, clock: FakeClock
) -> None:
    _, order_id = _order(rt)
    assert rt.lifecycle.requeue_stalled() == []
    clock.advance(rt.settings.queue.requeue_seconds + 1)
    assert rt.lifecycle.requeue_stalled() == [order_id]


def test_bytes_of_another_type_than_signed_fail_the_order_uncharged(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    """What a worker checks for direct-to-bucket uploads, which no API node has seen."""
    key_id, order_id = _order(rt)
    row = _row(rt, order_id)
    rt.store.write(row.input_key, png_bytes(subject_photo(64, 48)[0]), "image/png")
    _runner(rt, segmenter, "a", clock).run(order_id)
    failed = _row(rt, order_id)
    assert failed.status == "failed" and failed.charged_cents == 0
    assert "image/png" in (failed.failure_reason or "")
    assert rt.keys.get(key_id).credits == 5


def test_one_holder_of_the_sweeper_lock(database_url: str) -> None:
    from backdrop.db.session import Database

    first, second = Database(database_url), Database(database_url)
    a = ClusterLock(first.engine, SWEEPER_LOCK_KEY)
    b = ClusterLock(second.engine, SWEEPER_LOCK_KEY)
    try:
        assert a.acquire()
        assert a.acquire()  # still held
        if a.shared:  # PostgreSQL: the other process waits its turn
            assert not b.acquire()
            a.release()
            assert b.acquire()
        else:  # SQLite is one machine's database: every process may sweep it
            assert b.acquire()
    finally:
        a.release()
        b.release()
        first.dispose()
        second.dispose()


def test_a_stopping_worker_hands_a_running_order_back_for_another_at_once(
    rt: EmbeddedNode, segmenter: Segmenter, clock: FakeClock
) -> None:
    """A drain out of time: the order is freed now (no lease to wait out), its task answers
    False (the message goes back to the queue), and the run left behind drops its results."""
    from backdrop.serving.worker_drain import DrainingRuns

    key_id, order_id = _order(rt)
    gated = GatedSegmenter(segmenter)
    stopping = _runner(rt, gated, "stopping", clock)  # type: ignore[arg-type]
    runs = DrainingRuns(stopping, grace_seconds=0)
    answer: list[bool] = []
    task = threading.Thread(target=lambda: answer.append(runs.run(order_id)))
    task.start()
    assert gated.entered.wait(60)  # the order is inside the model
    runs.give_up()
    task.join(10)
    assert answer == [False] and runs.gave_up
    row = _row(rt, order_id)
    assert row.status == "init" and row.lease_owner is None and row.attempts == 0
    # Redelivered to the same stopping worker: refused, and still free.
    assert runs.run(order_id) is False and _row(rt, order_id).lease_owner is None

    _runner(rt, segmenter, "next", clock).run(order_id)  # no clock advance: free at once
    gated.gate.set()
    for _ in range(200):  # the abandoned run ends, finds the order gone, drops its files
        if stopping.running == 0:
            break
        threading.Event().wait(0.05)
    row = _row(rt, order_id)
    assert row.status == "active" and row.attempts == 1 and row.charged_cents == 50
    assert rt.keys.get(key_id).credits == 4.5
    # One run's output and mask: the abandoned run deleted what it wrote.
    results = sorted(p.name for p in (rt.settings.files_dir / "results").iterdir())
    assert len(results) == 2, results
