"""The embedded queue: a bounded pool of worker threads fed order ids in memory.

Order rows are the source of truth: the queue holds only ids, so anything lost with the
process (a crash, a restart) is found again by `Orders.pending_ids()` at the next start.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from backdrop.errors import ServiceUnavailable

log = logging.getLogger(__name__)

_STOP = ""


class WorkerPool:
    def __init__(self, run_order: Callable[[str], None], concurrency: int, queue_size: int) -> None:
        self._run_order = run_order
        self._concurrency = concurrency
        self._queue: queue.Queue[str] = queue.Queue(maxsize=queue_size)
        self._threads: list[threading.Thread] = []
        self._queued: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        for index in range(self._concurrency):
            thread = threading.Thread(
                target=self._work, name=f"backdrop-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, order_id: str, *, block: bool = False) -> None:
        """Queue an order id (once). A full queue raises ServiceUnavailable, or waits if `block`."""
        with self._lock:
            if order_id in self._queued:
                return
            self._queued.add(order_id)
        try:
            self._queue.put(order_id, block=block)
        except queue.Full:
            with self._lock:
                self._queued.discard(order_id)
            raise ServiceUnavailable("too many orders are waiting; try again shortly") from None

    def has_room(self) -> bool:
        return not self._queue.full()

    @property
    def alive(self) -> bool:
        return bool(self._threads) and all(thread.is_alive() for thread in self._threads)

    def join(self) -> None:
        """Wait until every queued order has been run (for tests and orderly shutdown)."""
        self._queue.join()

    def stop(self, timeout: float = 30.0) -> None:
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def _work(self) -> None:
        while True:
            order_id = self._queue.get()
            try:
                if order_id == _STOP:
                    return
                with self._lock:
                    self._queued.discard(order_id)
                self._run_order(order_id)
            except Exception:  # the runner never raises; this keeps the thread alive if it does
                log.exception("worker crashed on order %s", order_id)
            finally:
                self._queue.task_done()
