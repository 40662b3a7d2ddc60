"""The cluster's one housekeeper: the sweep of expired things, and (with Celery) the
re-queueing of orders whose worker died. Every node runs the loop; only the holder of the
cluster lock does the work, so exactly one sweeper runs at a time."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from backdrop.db.locks import ClusterLock
from backdrop.orders.sweeper import Sweeper

log = logging.getLogger(__name__)

# pg_advisory_lock key: "backdrop" in ASCII, as a number no other application picks by chance.
SWEEPER_LOCK_KEY = 0x6261636B64726F70


class Housekeeper:
    def __init__(
        self,
        lock: ClusterLock,
        sweeper: Sweeper,
        sweep_interval: float,
        *,
        recover: Callable[[], list[str]] | None = None,
        recover_interval: float = 10.0,
    ) -> None:
        self.lock = lock
        self._sweeper = sweeper
        self._sweep_interval = sweep_interval
        self._recover = recover
        self._recover_interval = recover_interval
        self._next_sweep = time.monotonic() + sweep_interval
        self._next_recover = time.monotonic()

    def run(self, stop: threading.Event) -> None:
        """Until `stop`: wake at the nearer of the two intervals and do what is due."""
        tick = min(1.0, self._sweep_interval, self._recover_interval)
        try:
            while not stop.wait(tick):
                self.tick()
        finally:
            self.lock.release()

    def tick(self) -> None:
        now = time.monotonic()
        due_sweep = now >= self._next_sweep
        due_recover = self._recover is not None and now >= self._next_recover
        if not (due_sweep or due_recover):
            return
        try:
            if not self.lock.acquire():
                return
        except Exception:
            log.exception("could not reach the database for the sweeper lock")
            return
        if due_recover and self._recover is not None:
            self._next_recover = now + self._recover_interval
            try:
                requeued = self._recover()
                if requeued:
                    log.warning("queued %d stalled orders again: %s", len(requeued), requeued)
            except Exception:  # retried at the next interval
                log.exception("recovery failed")
        if due_sweep:
            self._next_sweep = now + self._sweep_interval
            try:
                report = self._sweeper.sweep()
                if report.images or report.orders or report.orphans:
                    log.info("swept %s", report)
            except Exception:  # a failed sweep is retried at the next interval
                log.exception("sweep failed")
