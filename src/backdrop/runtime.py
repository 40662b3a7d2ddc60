"""Wires the service together for each kind of process; nothing here is global.

- `build_runtime`: what `backdrop serve` runs. Embedded (the default): database, store,
  services and the in-process worker pool with its models, in one process. With the celery
  queue it is an API node: the same services publish order ids and no model is loaded.
- `build_worker`: what `backdrop worker` runs: the models and the order runner.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from backdrop.db.locks import ClusterLock
from backdrop.db.migrate import upgrade
from backdrop.db.session import Database
from backdrop.engines.generators import Generators
from backdrop.engines.models_file import load_catalog
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.segmenters import Segmenters
from backdrop.kinds import GenerationEngine
from backdrop.orders.admission import Admission, RecentOrders
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.housekeeping import SWEEPER_LOCK_KEY, Housekeeper
from backdrop.orders.keys import ApiKeys
from backdrop.orders.processing import OrderRunner
from backdrop.orders.quotas import Quotas
from backdrop.orders.recovery import requeue_stalled
from backdrop.orders.service import Orders, PendingOrder
from backdrop.orders.sweeper import Sweeper
from backdrop.orders.uploads import Uploads
from backdrop.queue.base import OrderQueue
from backdrop.queue.pool import WorkerPool
from backdrop.settings import Settings
from backdrop.storage.base import ImageStore
from backdrop.storage.factory import build_store
from backdrop.storage.signing import UploadSigner, cluster_secret

log = logging.getLogger(__name__)


@dataclass
class Background:
    """Daemon threads a process runs beside its main work, stopped together."""

    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        self._stop.clear()
        thread = threading.Thread(target=target, args=(self._stop,), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()


@dataclass
class Runtime:
    """An API node, or (embedded) the API and its workers in one process."""

    settings: Settings
    db: Database
    store: ImageStore
    keys: ApiKeys
    uploads: Uploads
    orders: Orders
    queue: OrderQueue
    sweeper: Sweeper
    housekeeper: Housekeeper
    generators: Generators
    # Only where orders run in this process (embedded); an API node of a cluster has none.
    quotas: Quotas
    admission: Admission
    # Set on SIGTERM: admission refuses new orders, readiness answers 503.
    draining: threading.Event
    # Only where orders run in this process (embedded); an API node of a cluster has none.
    runner: OrderRunner | None = None
    segmenters: Segmenters | None = None
    background: Background = field(default_factory=Background)

    @property
    def pool(self) -> WorkerPool:
        """The in-process pool (embedded mode only)."""
        if not isinstance(self.queue, WorkerPool):
            raise RuntimeError("this node queues orders to Celery workers; it has no pool")
        return self.queue

    def start(self) -> None:
        """Start the workers (embedded), resume unfinished orders, start the housekeeper."""
        self.draining.clear()
        if isinstance(self.queue, WorkerPool):
            self.warm_up()
            # This process is the only runner: a lease still held was held by a run that
            # died with the previous process.
            self.orders.release_leases()
        self.queue.start()
        if isinstance(self.queue, WorkerPool):
            pending = self.orders.pending()
            if pending:
                log.info("resuming %d unfinished orders", len(pending))
            pool = self.queue
            self.background.spawn("backdrop-recovery", lambda stop: _resume(pool, pending, stop))
        self.background.spawn("backdrop-housekeeper", self.housekeeper.run)

    def warm_up(self) -> None:
        """Load the default models now: the first order should not pay for loading them
        (a LightX client gives up after 5 polls, 3 s apart)."""
        if self.segmenters is not None:
            _warm_up(self.segmenters, self.generators)

    def drain(self) -> None:
        """Take no new orders; let the running ones finish (bounded). Queued ones stay `init`
        and run after the next start (embedded) or on another worker (cluster)."""
        self.draining.set()
        if not isinstance(self.queue, WorkerPool):
            return  # an API node runs no orders: nothing to wait for
        seconds = self.settings.worker.drain_seconds
        log.info("draining: no new orders; waiting up to %g s for running ones", seconds)
        if self.queue.drain(seconds):
            log.info("drained: no order is running")
        else:
            log.warning("drain timed out; the running orders will be redone after a restart")

    def stop(self) -> None:
        self.draining.set()
        self.background.stop()
        self.queue.stop()
        self.db.dispose()


@dataclass
class WorkerRuntime:
    """A model worker: runs orders it is given by id; sweeps when it holds the lock."""

    settings: Settings
    db: Database
    store: ImageStore
    runner: OrderRunner
    segmenters: Segmenters
    generators: Generators
    housekeeper: Housekeeper
    background: Background = field(default_factory=Background)

    def start(self) -> None:
        _warm_up(self.segmenters, self.generators)
        self.background.spawn("backdrop-housekeeper", self.housekeeper.run)

    def stop(self) -> None:
        self.background.stop()
        self.db.dispose()


def _resume(pool: WorkerPool, pending: list[PendingOrder], stop: threading.Event) -> None:
    for order in pending:
        if stop.is_set():
            return
        pool.submit(order.id, owner=order.key_id, kind=order.operation, block=True)


def _warm_up(segmenters: Segmenters, generators: Generators) -> None:
    load = getattr(segmenters.get(), "load", None)
    if callable(load):
        load()
    generators.warm_up()


def _segmenters(settings: Settings, segmenter: Segmenter | None) -> Segmenters:
    segmenters = Segmenters(
        load_catalog(settings.models_dir, settings.models_config),
        settings.models_dir,
        default_model=settings.segmentation_model,
        inference=settings.inference,
        preloaded=segmenter,
    )
    # A node whose default model lacks its weights refuses to start (no model is loaded yet).
    segmenters.check()
    return segmenters


def _generators(settings: Settings) -> Generators:
    generators = Generators(settings.generation)
    if settings.generation.engine != GenerationEngine.STUDIO:
        generators.check_default()
    return generators


def _storage(settings: Settings) -> tuple[Database, ImageStore]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    return db, build_store(settings)


def _housekeeper(
    settings: Settings,
    db: Database,
    store: ImageStore,
    clock: Clock,
    recover: Callable[[], list[str]] | None = None,
) -> tuple[Sweeper, Housekeeper]:
    sweeper = Sweeper(db, store, clock)
    keeper = Housekeeper(
        ClusterLock(db.engine, SWEEPER_LOCK_KEY),
        sweeper,
        settings.lifetimes.sweep_interval_seconds,
        recover=recover,
        recover_interval=settings.queue.recover_interval_seconds,
    )
    return sweeper, keeper


def build_runtime(
    settings: Settings, segmenter: Segmenter | None = None, clock: Clock = utcnow
) -> Runtime:
    """Everything `backdrop serve` needs, with the database migrated. Call `start()` to run it.

    A scale-out node without BACKDROP_SIGNING_SECRET refuses to start (MissingSigningSecret).
    """
    secret = cluster_secret(
        settings.signing_secret, settings.secret_path, scale_out=settings.scale_out
    )
    generators = _generators(settings)
    embedded = settings.queue.backend == "embedded"
    segmenters = _segmenters(settings, segmenter) if embedded else None
    db, store = _storage(settings)
    uploads = Uploads(db, store, UploadSigner(secret), settings, clock)
    runner: OrderRunner | None = None
    queue: OrderQueue
    if segmenters is not None:
        runner = OrderRunner(db, store, settings, segmenters, generators, clock=clock)
        worker = settings.worker
        queue = WorkerPool(
            runner.run,
            worker.concurrency,
            worker.queue_size,
            default_run_seconds=worker.default_response_seconds,
        )
    else:
        from backdrop.queue.celery_queue import CeleryQueue

        queue = CeleryQueue(settings.queue)
    orders = Orders(db, uploads, settings, clock, models=segmenters, queue=queue)
    recover = None if embedded else _requeue(db, settings, clock, queue)
    sweeper, keeper = _housekeeper(settings, db, store, clock, recover)
    quotas = Quotas(settings.rate_limits)
    draining = threading.Event()
    # Embedded: the pool knows its backlog and run times. Cluster: the broker's backlog is
    # not visible from an API node, so the estimate is the cluster's recent creation-to-done
    # times, read from the shared order rows (they include the wait those orders had).
    view = queue if isinstance(queue, WorkerPool) else RecentOrders(orders)
    return Runtime(
        settings=settings,
        db=db,
        store=store,
        keys=ApiKeys(db, clock),
        uploads=uploads,
        orders=orders,
        queue=queue,
        sweeper=sweeper,
        housekeeper=keeper,
        generators=generators,
        quotas=quotas,
        admission=Admission(db, quotas, view, settings, draining.is_set),
        draining=draining,
        runner=runner,
        segmenters=segmenters,
    )


def _requeue(
    db: Database, settings: Settings, clock: Clock, queue: OrderQueue
) -> Callable[[], list[str]]:
    def requeue() -> list[str]:
        ids = requeue_stalled(db, settings, clock)
        for order_id in ids:
            queue.submit(order_id)
        return ids

    return requeue


def build_worker(
    settings: Settings, segmenter: Segmenter | None = None, clock: Clock = utcnow
) -> WorkerRuntime:
    """Everything `backdrop worker` needs: the database, the store, the models, the runner."""
    generators = _generators(settings)
    segmenters = _segmenters(settings, segmenter)
    db, store = _storage(settings)
    runner = OrderRunner(db, store, settings, segmenters, generators, clock=clock)
    from backdrop.queue.celery_queue import CeleryQueue

    # Workers take part in recovery too, so a cluster whose API nodes are all down still
    # re-queues the orders of a worker that died.
    publisher = CeleryQueue(settings.queue)
    requeue = _requeue(db, settings, clock, publisher)
    _, keeper = _housekeeper(settings, db, store, clock, requeue)
    return WorkerRuntime(settings, db, store, runner, segmenters, generators, keeper)
