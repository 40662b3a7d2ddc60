"""Prometheus metrics, served at /metrics.

Metrics are process-wide by Prometheus' design (one registry per process). With several server
processes, set PROMETHEUS_MULTIPROC_DIR to an empty folder before they start: each process then
writes its values there and /metrics adds them up (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Order and model times run from a fraction of a second (studio) to minutes (diffusion on CPU).
_SLOW_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120, 300)

HTTP_REQUESTS = Counter(
    "backdrop_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "backdrop_http_request_duration_seconds", "Time to answer a request", ["method", "route"]
)
ORDERS = Counter("backdrop_orders_total", "Orders finished", ["operation", "status"])
QUEUE_DEPTH = Gauge(
    "backdrop_queue_depth", "Orders waiting in the embedded queue", multiprocess_mode="livesum"
)
QUEUE_WAIT = Histogram(
    "backdrop_queue_wait_seconds",
    "Time an order waited before a worker took it",
    buckets=_SLOW_BUCKETS,
)
ORDER_RUN = Histogram(
    "backdrop_order_run_seconds", "Time a worker spent on an order", buckets=_SLOW_BUCKETS
)
MODEL_TIME = Histogram(
    "backdrop_model_seconds", "Segmentation model time per image", ["model"], buckets=_SLOW_BUCKETS
)
# The batching worker (orders/batch_runner.py).
BATCH_SIZE = Histogram(
    "backdrop_batch_size", "Orders per model call", buckets=(1, 2, 4, 8, 12, 16, 24, 32, 64)
)
BATCH_MODEL_TIME = Histogram(
    "backdrop_batch_model_seconds",
    "Model time per batch",
    buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30),
)
STAGE_DEPTH = Gauge(
    "backdrop_stage_queue_depth",
    "Orders waiting for or in a stage of the batching worker",
    ["stage"],
    multiprocess_mode="livesum",
)
STAGE_TIME = Histogram(
    "backdrop_stage_seconds",
    "Time one order spends in a stage's work (decode+resize, model share, finish)",
    ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10),
)
GPU_MEMORY = Gauge(
    "backdrop_gpu_memory_bytes", "Memory in use on the worker's GPU", multiprocess_mode="max"
)
CREDITS_CHARGED = Counter("backdrop_credits_charged_total", "Credits charged for finished orders")
CREDITS_REFUNDED = Counter(
    "backdrop_credits_refunded_total", "Credits given back for one-call answers not handed over"
)
LIMIT_REFUSALS = Counter("backdrop_limit_refusals_total", "Requests refused by a limit", ["limit"])
CONNECTIONS_REFUSED = Counter(
    "backdrop_connections_closed_total",
    "Connections closed by the server's guard (caps, header and body timeouts)",
    ["reason"],
)


def render() -> tuple[bytes, str]:
    """The exposition text of this process, or of all processes in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
