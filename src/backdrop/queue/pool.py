"""The embedded queue: a pool of worker threads fed order ids in memory, fairly.

Order rows are the source of truth: the queue holds only ids, so anything lost with the
process (a crash, a restart) is found again by `orders.lookup.Orders.pending()` at the next start.

Waiting orders are kept per owner (API key) and taken round-robin, one per owner in turn, so
one key with a thousand orders delays another key's order by at most one order per worker.
The pool also times the orders it runs, per kind and image size (estimates.py), which is what
its wait estimates stand on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from backdrop.errors import ServiceUnavailable
from backdrop.observability.metrics import ORDER_RUN, QUEUE_DEPTH, QUEUE_WAIT
from backdrop.queue.estimates import RunTimes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Item:
    order_id: str
    kind: str
    megapixels: float
    queued_at: float


@dataclass
class _Running:
    kind: str
    megapixels: float
    started_at: float


class WorkerPool:
    # Admission may refuse on this pool's wait estimate: it sees every waiting order.
    knows_backlog = True

    def __init__(
        self,
        run_order: Callable[[str], None],
        concurrency: int,
        queue_size: int,
        *,
        default_run_seconds: float = 5.0,
        run_times: RunTimes | None = None,
    ) -> None:
        self._run_order = run_order
        self._concurrency = concurrency
        self._queue_size = queue_size
        self.run_times = run_times or RunTimes(default_run_seconds)
        self._waiting: OrderedDict[str, deque[_Item]] = OrderedDict()
        self._size = 0
        self._queued: set[str] = set()
        self._running: dict[int, _Running] = {}
        self._threads: list[threading.Thread] = []
        # Set by drain() and stop(): workers finish what they run and take nothing new.
        self._closing = False
        self._changed = threading.Condition()

    def start(self) -> None:
        with self._changed:
            self._closing = False
        for index in range(self._concurrency):
            thread = threading.Thread(
                target=self._work, name=f"backdrop-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(
        self,
        order_id: str,
        *,
        owner: str = "",
        kind: str = "",
        megapixels: float = 1.0,
        block: bool = False,
    ) -> None:
        """Queue an order id (once). A full queue raises ServiceUnavailable, or waits if `block`."""
        with self._changed:
            if order_id in self._queued:
                return
            while self._size >= self._queue_size:
                if not block:
                    raise ServiceUnavailable("too many orders are waiting; try again shortly")
                self._changed.wait()
            self._queued.add(order_id)
            item = _Item(order_id, kind, megapixels, time.monotonic())
            self._waiting.setdefault(owner, deque()).append(item)
            self._size += 1
            QUEUE_DEPTH.set(self._size)
            self._changed.notify_all()

    def has_room(self) -> bool:
        with self._changed:
            return self._size < self._queue_size

    @property
    def depth(self) -> int:
        return self._size

    def run_seconds(self, kind: str, megapixels: float = 1.0) -> float:
        """How long an order of this kind and size should run (estimates.py)."""
        return self.run_times.expect(kind, megapixels)

    def expected_wait(self, owner: str) -> float:
        """Seconds a new order from `owner` would wait before a worker takes it.

        It runs after every order `owner` already has waiting and, round-robin, after up to
        one more than that from each other owner, once the running orders are done.
        """
        now = time.monotonic()
        with self._changed:
            mine = len(self._waiting.get(owner, ()))
            work = 0.0
            for who, items in self._waiting.items():
                ahead = list(items) if who == owner else list(items)[: mine + 1]
                work += sum(self.run_times.expect(item.kind, item.megapixels) for item in ahead)
            for running in self._running.values():
                expected = self.run_times.expect(running.kind, running.megapixels)
                left = expected - (now - running.started_at)
                work += max(left, 0.0)
            busy = len(self._running) + sum(len(items) for items in self._waiting.values())
        if busy < self._concurrency:
            return 0.0
        return work / self._concurrency

    @property
    def alive(self) -> bool:
        return (
            bool(self._threads)
            and not self._closing
            and all(thread.is_alive() for thread in self._threads)
        )

    def join(self) -> None:
        """Wait until every queued order has been run (for tests)."""
        with self._changed:
            while self._size or self._running:
                self._changed.wait()

    def drain(self, timeout: float) -> bool:
        """Take no more orders; wait up to `timeout` s for the running ones. True if they ended.

        Waiting orders stay `init` in the database and run after the next start.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            self._closing = True
            self._changed.notify_all()
            while self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.drain(timeout)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        with self._changed:
            self._waiting.clear()
            self._queued.clear()
            self._size = 0
            QUEUE_DEPTH.set(0)
            self._changed.notify_all()

    def _take(self) -> _Item | None:
        """The next order, round-robin over owners; None once the pool is closing."""
        ident = threading.get_ident()
        with self._changed:
            while not self._closing and not self._size:
                self._changed.wait()
            if self._closing:
                return None
            owner, items = next(iter(self._waiting.items()))
            item = items.popleft()
            if items:
                self._waiting.move_to_end(owner)
            else:
                del self._waiting[owner]
            self._size -= 1
            self._queued.discard(item.order_id)
            self._running[ident] = _Running(item.kind, item.megapixels, time.monotonic())
            QUEUE_DEPTH.set(self._size)
            self._changed.notify_all()
            return item

    def _work(self) -> None:
        ident = threading.get_ident()
        while (item := self._take()) is not None:
            started = time.monotonic()
            QUEUE_WAIT.observe(started - item.queued_at)
            try:
                self._run_order(item.order_id)
            except Exception:  # the runner never raises; this keeps the thread alive if it does
                log.exception("worker crashed on order %s", item.order_id)
            elapsed = time.monotonic() - started
            ORDER_RUN.observe(elapsed)
            self.run_times.record(item.kind, item.megapixels, elapsed)
            with self._changed:
                del self._running[ident]
                self._changed.notify_all()
