"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

import backdrop
from backdrop.api import examples
from backdrop.api.deps import RuntimeDep
from backdrop.api.envelope import error_response, install_error_handlers, success
from backdrop.api.limits import BodyLimit
from backdrop.api.middleware import RequestLog
from backdrop.api.removebg import routes as removebg
from backdrop.api.responses import Envelope, HealthBody, LiveBody
from backdrop.api.routes import docs, orders, uploads, web
from backdrop.observability.metrics import render as render_metrics
from backdrop.runtime import Runtime

# JSON bodies are tiny; anything larger is refused before it is read (uploads are PUTs).
MAX_JSON_BYTES = 64 * 1024


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """An app serving `runtime`; with `manage_runtime` the app starts and stops it."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if manage_runtime:
            runtime.start()
        try:
            yield
        finally:
            if manage_runtime:
                runtime.stop()

    app = FastAPI(
        title="backdrop",
        version=backdrop.__version__,
        description="Self-hosted, LightX-compatible background removal and generation.",
        lifespan=lifespan,
        # /docs is served by routes.docs from local files (no CDN); ReDoc needs a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    removebg_bytes = runtime.settings.limits.max_upload_bytes * removebg.BODY_FACTOR
    app.add_middleware(BodyLimit, max_bytes=MAX_JSON_BYTES, larger={removebg.PATH: removebg_bytes})
    # Added last, so it is outermost: it sees every answer, errors included.
    app.add_middleware(RequestLog)
    app.include_router(uploads.router)
    app.include_router(orders.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(removebg.router)

    @app.get(
        "/health",
        response_model=Envelope[HealthBody],
        summary="200 when the server can take orders",
        responses=examples.HEALTH,
    )
    def health(runtime: RuntimeDep) -> Any:
        return _readiness(runtime)

    @app.get(
        "/readyz", summary="Readiness: 200 when the server takes orders", responses=examples.HEALTH
    )
    def readyz(runtime: RuntimeDep) -> Any:
        return _readiness(runtime)

    @app.get(
        "/livez",
        response_model=Envelope[LiveBody],
        summary="Liveness: 200 while the process answers",
        responses=examples.LIVEZ,
    )
    async def livez() -> dict[str, Any]:
        # No database, no workers: a slow dependency must not get a live process restarted.
        return success({"status": "ok"})

    @app.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    def metrics() -> Response:
        data, content_type = render_metrics()
        return Response(data, media_type=content_type)

    return app


def _readiness(runtime: Runtime) -> JSONResponse:
    try:
        with runtime.db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return error_response(503, 5031, "SERVICE_UNAVAILABLE", "the database is unreachable")
    if runtime.draining.is_set():
        return error_response(503, 5031, "SERVICE_UNAVAILABLE", "the server is shutting down")
    if not runtime.queue.alive:
        return error_response(503, 5031, "SERVICE_UNAVAILABLE", "the workers are not running")
    return JSONResponse(success({"status": "ok", "version": backdrop.__version__}))
