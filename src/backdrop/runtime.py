"""Wires the embedded service together: database, image store, services, workers, sweeper.

Built once by `backdrop serve` (through the app factory) and by tests; nothing here is global.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from backdrop.db.migrate import upgrade
from backdrop.db.session import Database
from backdrop.engines.generation import STUDIO, Generators
from backdrop.engines.registry import Segmenters, load_catalog
from backdrop.engines.segmentation import Segmenter
from backdrop.orders.admission import Admission
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.keys import ApiKeys
from backdrop.orders.processing import OrderRunner
from backdrop.orders.quotas import Quotas
from backdrop.orders.service import Orders, PendingOrder
from backdrop.orders.sweeper import Sweeper
from backdrop.orders.uploads import Uploads
from backdrop.queue.pool import WorkerPool
from backdrop.settings import Settings
from backdrop.storage.local import LocalImageStore
from backdrop.storage.signing import UploadSigner, load_or_create_secret

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: LocalImageStore
    keys: ApiKeys
    uploads: Uploads
    orders: Orders
    runner: OrderRunner
    pool: WorkerPool
    sweeper: Sweeper
    segmenters: Segmenters
    generators: Generators
    quotas: Quotas
    admission: Admission
    # Set on SIGTERM: admission refuses new orders, readiness answers 503.
    draining: threading.Event
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        """Start the workers, requeue orders a previous run left `init`, start the sweeper."""
        self._stop.clear()
        self.draining.clear()
        self.warm_up()
        self.pool.start()
        pending = self.orders.pending()
        if pending:
            log.info("resuming %d unfinished orders", len(pending))
        self._spawn("backdrop-recovery", lambda: self._resume(pending))
        self._spawn("backdrop-sweeper", self._sweep_forever)

    def warm_up(self) -> None:
        """Load the default models now: the first order should not pay for loading them
        (a LightX client gives up after 5 polls, 3 s apart)."""
        load = getattr(self.segmenters.get(), "load", None)
        if callable(load):
            load()
        self.generators.warm_up()

    def drain(self) -> None:
        """Take no new orders; let the running ones finish (bounded). Queued ones stay `init`
        and run after the next start."""
        self.draining.set()
        seconds = self.settings.worker.drain_seconds
        log.info("draining: no new orders; waiting up to %g s for running ones", seconds)
        if self.pool.drain(seconds):
            log.info("drained: no order is running")
        else:
            log.warning("drain timed out; the running orders will be redone after a restart")

    def stop(self) -> None:
        self.draining.set()
        self._stop.set()
        self.pool.stop()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()
        self.db.dispose()

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _resume(self, pending: list[PendingOrder]) -> None:
        for order in pending:
            if self._stop.is_set():
                return
            self.pool.submit(order.id, owner=order.key_id, kind=order.operation, block=True)

    def _sweep_forever(self) -> None:
        interval = self.settings.lifetimes.sweep_interval_seconds
        while not self._stop.wait(interval):
            try:
                report = self.sweeper.sweep()
                if report.images or report.orders or report.orphans:
                    log.info("swept %s", report)
            except Exception:  # a failed sweep is retried at the next interval
                log.exception("sweep failed")


def build_runtime(
    settings: Settings, segmenter: Segmenter | None = None, clock: Clock = utcnow
) -> Runtime:
    """Everything the server needs, with the database migrated. Call `start()` to run it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    segmenters = Segmenters(
        load_catalog(settings.models_dir, settings.models_config),
        settings.models_dir,
        default_model=settings.segmentation_model,
        inference=settings.inference,
        preloaded=segmenter,
    )
    # A server whose default model lacks its weights refuses to start (no model is loaded yet).
    segmenters.get()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    store = LocalImageStore(settings.files_dir)
    signer = UploadSigner(load_or_create_secret(settings.secret_path))
    uploads = Uploads(db, store, signer, settings, clock)
    generators = Generators(settings.generation)
    if settings.generation.engine != STUDIO:
        generators.check_default()
    runner = OrderRunner(db, store, settings, segmenters, generators, clock=clock)
    worker = settings.worker
    pool = WorkerPool(
        runner.run,
        worker.concurrency,
        worker.queue_size,
        default_run_seconds=worker.default_response_seconds,
    )
    quotas = Quotas(settings.rate_limits)
    draining = threading.Event()
    return Runtime(
        settings=settings,
        db=db,
        store=store,
        keys=ApiKeys(db, clock),
        uploads=uploads,
        orders=Orders(db, uploads, settings, clock, models=segmenters),
        runner=runner,
        pool=pool,
        sweeper=Sweeper(db, store, clock),
        segmenters=segmenters,
        generators=generators,
        quotas=quotas,
        admission=Admission(db, quotas, pool, settings, draining.is_set),
        draining=draining,
    )
