"""Builds each kind of process; the embedded/cluster choice is made here, once.

- `build_node`: what `backdrop serve` runs. Embedded (the default, `EmbeddedNode`): database,
  store, services and the in-process worker pool with its models, in one process. With the
  celery queue it is an `ApiNode`: the same services publish order ids and load no model.
- `build_worker`: what `backdrop worker` runs (`WorkerNode`): the models and the order runner.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from backdrop.accounts.admission import Admission, QueueView
from backdrop.accounts.api_keys import ApiKeys
from backdrop.accounts.quotas import Quotas
from backdrop.api.services import ApiServices
from backdrop.common.clock import Clock, utcnow
from backdrop.db.locks import ClusterLock
from backdrop.db.migrate import prepare
from backdrop.db.session import Database
from backdrop.engines.generators import Generators, KnownEngines
from backdrop.engines.models_file import load_catalog
from backdrop.engines.segmentation import Segmenter
from backdrop.engines.segmenters import KnownModels, Segmenters
from backdrop.kinds import GenerationEngine
from backdrop.orders.desk import EngineCheck, OrderDesk
from backdrop.orders.housekeeping import SWEEPER_LOCK_KEY, Housekeeper
from backdrop.orders.lifecycle import Lifecycle, PendingOrder
from backdrop.orders.lookup import Orders, RecentOrders
from backdrop.orders.measure import measure_orders
from backdrop.orders.runner import OrderRunner
from backdrop.orders.sweeper import Sweeper
from backdrop.queue.order_queue import OrderQueue
from backdrop.queue.pool import WorkerPool
from backdrop.serving.worker_drain import DrainingRuns
from backdrop.serving.write_probe import WriteProbe
from backdrop.settings import Settings
from backdrop.storage.factory import build_store
from backdrop.storage.image_store import ImageStore
from backdrop.uploads.service import Uploads
from backdrop.uploads.signing import UploadSigner, cluster_secret

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
class _Services:
    """The parts every node that serves the API has, whatever runs its orders."""

    settings: Settings
    db: Database
    store: ImageStore
    keys: ApiKeys
    uploads: Uploads
    lifecycle: Lifecycle
    orders: Orders
    quotas: Quotas
    sweeper: Sweeper
    housekeeper: Housekeeper
    # Set on SIGTERM: admission refuses new orders, readiness answers 503.
    draining: threading.Event
    background: Background
    # The folders this node writes (files, SQLite): a full disk makes the node not ready.
    write_probe: WriteProbe

    def not_ready(self, queue: OrderQueue) -> str | None:
        try:
            with self.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return "the database is unreachable"
        full = self.write_probe.problem()
        if full is not None:
            return full
        if self.draining.is_set():
            return "the server is shutting down"
        if not queue.alive:
            return "the workers are not running"
        return None


class _NodeBase:
    """What both API-serving nodes share: their services, readiness and the API's view."""

    def __init__(
        self,
        services: _Services,
        queue: OrderQueue,
        view: QueueView,
        models: Segmenters | KnownModels,
        engines: EngineCheck,
    ) -> None:
        self._services = services
        self.settings = services.settings
        self.db = services.db
        self.store = services.store
        self.keys = services.keys
        self.uploads = services.uploads
        self.orders = services.orders
        self.lifecycle = services.lifecycle
        self.sweeper = services.sweeper
        self.housekeeper = services.housekeeper
        self.draining = services.draining
        self.background = services.background
        self.write_probe = services.write_probe
        self._queue = queue
        settings = services.settings
        self.admission = Admission(
            services.db, services.quotas, view, settings, services.draining.is_set
        )
        desk = OrderDesk(
            self.admission,
            services.lifecycle,
            services.orders,
            services.uploads,
            services.store,
            queue,
            models,
            engines,
            settings,
            services.draining.is_set,
        )
        self.api = ApiServices(
            settings=settings,
            keys=services.keys,
            quotas=services.quotas,
            admission=self.admission,
            uploads=services.uploads,
            desk=desk,
            orders=services.orders,
            readiness=self,
            models=models,
        )

    def not_ready(self) -> str | None:
        return self._services.not_ready(self._queue)

    def stop(self) -> None:
        self.draining.set()
        self.background.stop()
        self._queue.stop()
        self.db.dispose()


class EmbeddedNode(_NodeBase):
    """The API and its workers in one process (the default): SQLite, files, a thread pool."""

    def __init__(
        self, services: _Services, pool: WorkerPool, runner: OrderRunner, segmenters: Segmenters
    ) -> None:
        # The pool knows its backlog and run times: admission estimates from it.
        super().__init__(services, pool, pool, segmenters, runner.generators)
        self.pool = pool
        self.runner = runner
        self.segmenters = segmenters

    def start(self) -> None:
        """Load the models, resume unfinished orders, start the workers and the housekeeper."""
        self.draining.clear()
        self.warm_up()
        # This process is the only runner: a lease still held was held by a run that died
        # with the previous process.
        self.lifecycle.release_leases()
        self.pool.start()
        pending = self.orders.pending()
        if pending:
            log.info("resuming %d unfinished orders", len(pending))
        pool = self.pool
        self.background.spawn("backdrop-recovery", lambda stop: _resume(pool, pending, stop))
        self.background.spawn("backdrop-housekeeper", self.housekeeper.run)

    def warm_up(self) -> None:
        """Load the default models now: the first order should not pay for loading them
        (a LightX client gives up after 5 polls, 3 s apart). Then, unless told not to, time
        one 1 MP order of each kind to seed the estimates clients are quoted."""
        _warm_up(self.segmenters, self.runner.generators)
        if self.settings.worker.measure_at_start:
            for kind, seconds in measure_orders(self.segmenters, self.runner.generators).items():
                self.pool.run_times.seed(kind, seconds)
            log.info("measured at start: %s", self.pool.run_times)

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


class ApiNode(_NodeBase):
    """An API node of a cluster: it publishes order ids to Celery workers and loads no model."""

    def start(self) -> None:
        self.draining.clear()
        self._queue.start()
        self.background.spawn("backdrop-housekeeper", self.housekeeper.run)

    def drain(self) -> None:
        """Take no new orders; an API node runs none, so there is nothing to wait for."""
        self.draining.set()


@dataclass
class WorkerNode:
    """A model worker: runs orders it is given by id; sweeps when it holds the lock."""

    settings: Settings
    db: Database
    store: ImageStore
    runner: OrderRunner
    segmenters: Segmenters
    housekeeper: Housekeeper
    # The Celery task's body: runs orders, and bounds the wait when the worker is stopped.
    runs: DrainingRuns
    background: Background = field(default_factory=Background)

    def start(self) -> None:
        _warm_up(self.segmenters, self.runner.generators)
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
    segmenters.get().load()
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


def _database(settings: Settings) -> Database:
    """The database, at this release's schema: migrated now (under a lock, so processes may
    start together), or checked when migrations are a separate step (`backdrop db upgrade`).
    DatabaseUnreachable / SchemaMismatch say in one line why a node cannot start."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    try:
        prepare(db.engine, migrate=settings.database.migrate_on_start)
    except BaseException:
        db.dispose()
        raise
    return db


def _write_probe(settings: Settings) -> WriteProbe:
    """Probes where this node writes: the data dir, the local files and a SQLite database
    (its journal grows on the same disk; "database or disk is full" is that disk filling)."""
    folders = {"data directory": settings.data_dir}
    if settings.storage.backend == "local":
        folders["files directory"] = settings.files_dir
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folders["database directory"] = Path(url.database).parent
    return WriteProbe(folders)


def _housekeeper(
    settings: Settings,
    db: Database,
    sweeper: Sweeper,
    recover: Callable[[], list[str]] | None = None,
) -> Housekeeper:
    return Housekeeper(
        ClusterLock(db.engine, SWEEPER_LOCK_KEY),
        sweeper,
        settings.lifetimes.sweep_interval_seconds,
        recover=recover,
        recover_interval=settings.queue.recover_interval_seconds,
    )


def _requeue(lifecycle: Lifecycle, queue: OrderQueue) -> Callable[[], list[str]]:
    def requeue() -> list[str]:
        ids = lifecycle.requeue_stalled()
        for order_id in ids:
            queue.submit(order_id)
        return ids

    return requeue


def _signing_secret(settings: Settings) -> bytes:
    return cluster_secret(
        settings.signing_secret, settings.secret_path, scale_out=settings.scale_out
    )


def _services(
    settings: Settings, secret: bytes, clock: Clock, recover_to: OrderQueue | None = None
) -> _Services:
    db = _database(settings)
    store = build_store(settings)
    lifecycle = Lifecycle(db, settings, clock)
    sweeper = Sweeper(db, store, lifecycle, clock)
    recover = None if recover_to is None else _requeue(lifecycle, recover_to)
    return _Services(
        settings=settings,
        db=db,
        store=store,
        keys=ApiKeys(db, clock),
        uploads=Uploads(db, store, UploadSigner(secret), settings, clock),
        lifecycle=lifecycle,
        orders=Orders(db, settings.worker.default_response_seconds, clock),
        quotas=Quotas(settings.rate_limits),
        sweeper=sweeper,
        housekeeper=_housekeeper(settings, db, sweeper, recover),
        draining=threading.Event(),
        background=Background(),
        write_probe=_write_probe(settings),
    )


def build_node(
    settings: Settings, segmenter: Segmenter | None = None, clock: Clock = utcnow
) -> EmbeddedNode | ApiNode:
    """Everything `backdrop serve` needs, with the database migrated. Call `start()` to run it.

    A scale-out node without BACKDROP_SIGNING_SECRET refuses to start (MissingSigningSecret).
    """
    secret = _signing_secret(settings)
    if settings.queue.backend == "embedded":
        generators = _generators(settings)
        segmenters = _segmenters(settings, segmenter)
        services = _services(settings, secret, clock)
        runner = OrderRunner(
            services.db, services.store, settings, segmenters, generators, clock=clock
        )
        worker = settings.worker
        pool = WorkerPool(
            runner.run,
            worker.concurrency,
            worker.queue_size,
            default_run_seconds=worker.default_response_seconds,
        )
        return EmbeddedNode(services, pool, runner, segmenters)
    from backdrop.queue.celery_queue import CeleryQueue, check_broker

    _generators(settings)  # an engine the workers are told to use must exist
    check_broker(settings.queue)
    queue = CeleryQueue(settings.queue)
    services = _services(settings, secret, clock, recover_to=queue)
    catalog = load_catalog(settings.models_dir, settings.models_config)
    models = KnownModels(catalog, settings.segmentation_model)
    # The broker's backlog is not visible from an API node, so the estimate is the cluster's
    # recent creation-to-done times, read from the shared order rows.
    # Its workers hold the engines: an engine id is checked only to be known.
    return ApiNode(services, queue, RecentOrders(services.orders), models, KnownEngines())


def build_worker(
    settings: Settings, segmenter: Segmenter | None = None, clock: Clock = utcnow
) -> WorkerNode:
    """Everything `backdrop worker` needs: the database, the store, the models, the runner."""
    from backdrop.queue.celery_queue import CeleryQueue, check_broker

    generators = _generators(settings)
    segmenters = _segmenters(settings, segmenter)
    check_broker(settings.queue)
    db = _database(settings)
    store = build_store(settings)
    runner = OrderRunner(db, store, settings, segmenters, generators, clock=clock)

    # Workers take part in recovery too, so a cluster whose API nodes are all down still
    # re-queues the orders of a worker that died.
    lifecycle = Lifecycle(db, settings, clock)
    keeper = _housekeeper(
        settings,
        db,
        Sweeper(db, store, lifecycle, clock),
        _requeue(lifecycle, CeleryQueue(settings.queue)),
    )
    runs = DrainingRuns(runner, settings.worker.drain_seconds)
    return WorkerNode(settings, db, store, runner, segmenters, keeper, runs)
