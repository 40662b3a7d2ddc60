"""A Celery worker's orders, and its drain when told to stop (SIGTERM).

Celery's warm shutdown stops taking messages and waits for the running tasks, for as long
as they take. The drain bounds that wait: each order runs in a thread of its own while its
task waits for it, so when the grace period (BACKDROP_WORKER__DRAIN_SECONDS) runs out the
task can let go. The orders still running are handed back (their leases freed) and their
tasks answer False, which rejects the message back to the queue: another worker takes the
order at once, not after the lease expires. The process then exits 0, as a clean stop.
"""

from __future__ import annotations

import logging
import threading
import time

from backdrop.orders.runner import OrderRunner

log = logging.getLogger(__name__)


class DrainingRuns:
    def __init__(self, runner: OrderRunner, grace_seconds: float) -> None:
        self._runner = runner
        self._grace = grace_seconds
        self._lock = threading.Lock()
        # One event per task waiting for its order: set when the order is done or dropped.
        self._waiting: set[threading.Event] = set()
        self._given_up = False
        self._draining = False
        self._drainer: threading.Thread | None = None

    def run(self, order_id: str) -> bool:
        """Run the order (the Celery task's body): True when it was dealt with here, False
        when it was handed back and its message should go back to the queue."""
        wake = threading.Event()
        with self._lock:
            if self._given_up:
                return False
            self._waiting.add(wake)
        finished = threading.Event()

        def work() -> None:
            try:
                self._runner.run(order_id)
            finally:
                finished.set()
                wake.set()

        threading.Thread(target=work, name=f"order-{order_id}", daemon=True).start()
        wake.wait()
        with self._lock:
            self._waiting.discard(wake)
        # Not finished: the drain gave up waiting (the order is handed back, or will be
        # when its run tries to claim it). Finished: it ran, or its claim was refused.
        return finished.is_set() and not self._runner.was_handed_back(order_id)

    @property
    def gave_up(self) -> bool:
        """Whether runs were left behind: their threads may still be inside a model."""
        with self._lock:
            return self._given_up

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def drain_in_background(self) -> None:
        """Start the grace period (once); called from Celery's SIGTERM handler, so it only
        starts a thread."""
        with self._lock:
            if self._draining:
                return
            self._draining = True
        self._drainer = threading.Thread(target=self._drain, name="backdrop-drain", daemon=True)
        self._drainer.start()

    def wait_drained(self, timeout: float = 5.0) -> None:
        """Let the drain say how it ended before the process exits (Celery returns as soon as
        the last task does, while the drain thread may not yet have noticed)."""
        if self._drainer is not None:
            self._drainer.join(timeout)

    def _drain(self) -> None:
        log.info("draining: no new orders; waiting up to %g s for running ones", self._grace)
        deadline = time.monotonic() + self._grace
        while self.waiting and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.waiting:
            self.give_up()
        else:
            log.info("drained: no order is running")

    def give_up(self) -> None:
        """Hand back every order still running and release the tasks waiting for them."""
        with self._lock:
            self._given_up = True
        freed = self._runner.hand_back_all()
        with self._lock:
            waiting = list(self._waiting)
        log.warning("drain timed out; handed back %d orders to the queue: %s", len(freed), freed)
        for wake in waiting:
            wake.set()
