"""The embedded pool: round-robin over keys, honest wait estimates, drain."""

from __future__ import annotations

import threading
import time

import pytest

from backdrop.errors import ServiceUnavailable
from backdrop.queue.pool import WorkerPool


class Recorder:
    """A run_order that records the order ids and can be held at a gate."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.ran: list[str] = []
        self.seconds = seconds
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()

    def __call__(self, order_id: str) -> None:
        self.started.set()
        self.gate.wait(10)
        time.sleep(self.seconds)
        self.ran.append(order_id)


def held_pool(first: str, queue_size: int = 100, **options: float) -> tuple[WorkerPool, Recorder]:
    """A one-worker pool running `first`, held at the gate until the test opens it."""
    run = Recorder()
    run.gate.clear()
    pool = WorkerPool(run, concurrency=1, queue_size=queue_size, **options)
    pool.start()
    pool.submit(first, owner=first.split("-")[0], kind="k")
    assert run.started.wait(5)
    return pool, run


def test_orders_of_one_key_cannot_starve_another() -> None:
    pool, run = held_pool("busy-0")  # busy-0 runs; the rest waits
    for index in range(1, 20):
        pool.submit(f"busy-{index}", owner="busy")
    pool.submit("quiet-0", owner="quiet")
    pool.submit("quiet-1", owner="quiet")
    run.gate.set()
    pool.join()
    pool.stop()
    # One order per key in turn: quiet's orders run 2nd and 4th, not after busy's twenty.
    assert run.ran[:5] == ["busy-0", "busy-1", "quiet-0", "busy-2", "quiet-1"]
    assert len(run.ran) == 22


def test_expected_wait_counts_the_orders_ahead_round_robin() -> None:
    idle = WorkerPool(Recorder(), concurrency=1, queue_size=1)
    assert idle.expected_wait("a") == 0.0  # an idle pool starts an order at once
    pool, run = held_pool("a-0", default_run_seconds=2.0)
    for index in range(1, 6):
        pool.submit(f"a-{index}", owner="a", kind="k")
    # a: 5 waiting + the running one (2 s each, by default) -> about 12 s.
    assert 10.0 < pool.expected_wait("a") <= 12.0
    # b goes after at most one of a's: the running one and one more.
    assert 2.0 < pool.expected_wait("b") <= 4.0
    run.gate.set()
    pool.join()
    pool.stop()


def test_run_seconds_are_measured_per_kind() -> None:
    pool = WorkerPool(Recorder(0.2), concurrency=1, queue_size=10, default_run_seconds=9.0)
    pool.start()
    pool.submit("x", kind="slow")
    pool.join()
    pool.stop()
    assert 0.2 <= pool.run_seconds("slow") < 1.0
    assert pool.run_seconds("other") == 9.0


def test_a_full_queue_refuses_and_nothing_accepted_is_dropped() -> None:
    pool, run = held_pool("running", queue_size=2)
    pool.submit("q1", owner="a")
    pool.submit("q2", owner="b")
    with pytest.raises(ServiceUnavailable) as refused:
        pool.submit("q3", owner="c")
    assert refused.value.headers["Retry-After"].isdigit()
    run.gate.set()
    pool.join()
    pool.stop()
    assert sorted(run.ran) == ["q1", "q2", "running"]


def test_drain_lets_the_running_order_finish_and_takes_no_more() -> None:
    run = Recorder(0.5)
    pool = WorkerPool(run, concurrency=1, queue_size=10)
    pool.start()
    pool.submit("first")
    assert run.started.wait(5)
    pool.submit("second")
    assert pool.drain(10) is True
    assert run.ran == ["first"]  # finished; "second" stays for the next start
    assert not pool.alive
    pool.stop()


def test_drain_is_bounded() -> None:
    pool, run = held_pool("stuck")
    started = time.monotonic()
    assert pool.drain(0.3) is False
    assert time.monotonic() - started < 2
    run.gate.set()
    pool.stop()
