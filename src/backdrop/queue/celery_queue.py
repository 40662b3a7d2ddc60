"""The scale-out queue: order ids travel through a Celery broker (RabbitMQ or Redis).

API nodes only publish (`CeleryQueue`); `backdrop worker` consumes with `run_worker`. The
task is acknowledged late and rejected when its worker dies, so a broker that notices a lost
worker delivers the id again; the order's lease (orders/lifecycle.py) makes a second
delivery harmless, and the sweeper's recovery re-queues orders whose lease has run out,
whatever the broker does.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from celery import Celery

from backdrop.errors import ServiceUnavailable
from backdrop.settings import QueueSettings

log = logging.getLogger(__name__)

TASK_NAME = "backdrop.run_order"
# How long a broker health check is trusted.
_HEALTH_SECONDS = 5.0


def celery_app(settings: QueueSettings) -> Celery:
    app = Celery("backdrop", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_default_queue=settings.name,
        task_routes={TASK_NAME: {"queue": settings.name}},
        # Acknowledge after the order ran, and give the message back if the worker dies.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One order at a time per worker slot: a slow order never holds others hostage.
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # Publishing must not hang an API request when the broker is down.
        broker_connection_timeout=5,
        broker_transport_options={"max_retries": 2, "interval_start": 0.2},
        worker_hijack_root_logger=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


class CeleryQueue:
    """What an API node holds: a publisher of order ids."""

    def __init__(self, settings: QueueSettings, app: Celery | None = None) -> None:
        self._app = app or celery_app(settings)
        self._queue = settings.name
        self._alive = False
        self._checked_at = -_HEALTH_SECONDS

    def start(self) -> None:
        """Nothing to start: publishing connects on first use."""

    def stop(self) -> None:
        self._app.close()

    def submit(
        self, order_id: str, *, owner: str = "", kind: str = "", megapixels: float = 1.0
    ) -> None:
        # One broker queue in arrival order; per-key limits on the API nodes keep one key
        # from filling it (orders waiting per key, orders per minute).
        try:
            self._app.send_task(TASK_NAME, args=[order_id], queue=self._queue, retry=True)
        except Exception as error:
            log.exception("could not publish order %s", order_id)
            raise ServiceUnavailable("the order queue is unreachable; try again shortly") from error

    def has_room(self) -> bool:
        # The broker holds the backlog; admission control is the API node's business.
        return True

    @property
    def alive(self) -> bool:
        """Whether the broker answers (checked at most every few seconds, for /health)."""
        now = time.monotonic()
        if now - self._checked_at >= _HEALTH_SECONDS:
            try:
                with self._app.connection_for_write() as connection:
                    connection.ensure_connection(max_retries=1, timeout=2)
                self._alive = True
            except Exception:
                self._alive = False
            self._checked_at = now
        return self._alive


def register_task(app: Celery, run_order: Callable[[str], None]) -> Any:
    """Bind the task to a worker's runner (which never raises)."""

    # shared=False: Celery would otherwise hand this task to every app made in the process.
    @app.task(name=TASK_NAME, ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def run_order_task(order_id: str) -> None:
        run_order(order_id)

    return run_order_task


def register_returning_task(app: Celery, run_order: Callable[[str], bool]) -> Any:
    """Bind the task to a runner that says whether the order ended (True: acknowledge) or
    was handed back unstarted by a draining worker (False: the message goes back to the
    broker for another worker)."""
    from celery.exceptions import Reject

    @app.task(name=TASK_NAME, ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def run_order_task(order_id: str) -> None:
        if not run_order(order_id):
            raise Reject("this worker is draining; the order goes back to the queue", requeue=True)

    return run_order_task


def on_shutdown(callback: Callable[[], None]) -> None:
    """Call `callback` when this process's Celery worker starts to shut down (SIGTERM)."""
    from celery.signals import worker_shutting_down

    def shutting_down(**_: Any) -> None:
        callback()

    worker_shutting_down.connect(shutting_down, weak=False)


def run_worker(app: Celery, queue: str, concurrency: int, hostname: str | None = None) -> None:
    """Consume `queue` in this process with `concurrency` threads (the models load once)."""
    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
    ]
    if hostname:
        argv.append(f"--hostname={hostname}")
    app.worker_main(argv)
