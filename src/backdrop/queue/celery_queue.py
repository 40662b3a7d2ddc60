"""The scale-out queue: order ids travel through a Celery broker (RabbitMQ or Redis).

API nodes only publish (`CeleryQueue`); `backdrop worker` consumes with `run_worker`. The
task is acknowledged late and rejected when its worker dies, so a broker that notices a lost
worker delivers the id again; the order's lease (orders/lifecycle.py) makes a second
delivery harmless, and the sweeper's recovery re-queues orders whose lease has run out,
whatever the broker does.

A worker told to stop (SIGTERM) takes no new message and lets its running orders finish; an
order still running when its grace period ends is handed back (its lease freed) and its
message rejected back to the queue, so another worker takes it at once (`register_task`).
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from celery.exceptions import Reject
from celery.signals import worker_shutting_down

from backdrop.errors import BackdropError, ServiceUnavailable
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


class BrokerUnreachable(BackdropError):
    """The broker could not be connected to at start."""

    http_status = 503
    status_code = 5030
    message = "SERVICE_UNAVAILABLE"


def check_broker(settings: QueueSettings, attempts: int = 3) -> None:
    """Connect to the broker once, or BrokerUnreachable in one line: a node that cannot
    reach it would otherwise start and fail every order (or, a worker, retry forever)."""
    app = celery_app(settings)
    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=attempts - 1, interval_start=0.5, interval_step=1, timeout=5
            )
    except Exception as error:
        where = _without_password(settings.broker_url)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BrokerUnreachable(
            f"cannot reach the broker {where}: {reason} (check BACKDROP_QUEUE__BROKER_URL)"
        ) from None
    finally:
        app.close()


def _without_password(url: str) -> str:
    from kombu.utils.url import maybe_sanitize_url

    return str(maybe_sanitize_url(url))


def register_task(app: Celery, run_order: Callable[[str], bool]) -> Any:
    """Bind the task to a worker's runner, which never raises and says whether the order
    was dealt with (True) or handed back by a drain that ran out of time (False)."""

    # shared=False: Celery would otherwise hand this task to every app made in the process.
    @app.task(name=TASK_NAME, ignore_result=True, shared=False)  # type: ignore[untyped-decorator]
    def run_order_task(order_id: str) -> None:
        if not run_order(order_id):
            # With acks_late the message is still unacknowledged: back to the queue, for
            # another worker now rather than after the lease expires.
            raise Reject("handed back while the worker stops", requeue=True)

    return run_order_task


def _reject_without_traceback(record: logging.LogRecord) -> bool:
    if record.exc_info and isinstance(record.exc_info[1], Reject):
        record.exc_info = None
        record.exc_text = None
    return True


def default_node_name() -> str:
    """A Celery node name unique to this process: `backdrop worker` may run any number of
    times on one host (Celery's default, celery@<host>, locks its control queue to one)."""
    return f"backdrop-{os.getpid()}-{secrets.token_hex(3)}@%h"


def run_worker(
    app: Celery,
    queue: str,
    concurrency: int,
    hostname: str | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """Consume `queue` in this process with `concurrency` threads (the models load once).

    SIGTERM (or SIGINT) makes Celery's warm shutdown: no new message, the running tasks
    awaited; `on_stop` is called then, from the signal handler, to bound that wait.
    """
    # A handed-back order is a normal part of stopping: one warning line, not a traceback.
    logging.getLogger("celery.app.trace").addFilter(_reject_without_traceback)
    if on_stop is not None:

        def stopping(**_: Any) -> None:
            on_stop()

        # weak=False: the closure has no other reference and would be collected.
        worker_shutting_down.connect(stopping, weak=False)
    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        f"--hostname={hostname or default_node_name()}",
    ]
    app.worker_main(argv)
