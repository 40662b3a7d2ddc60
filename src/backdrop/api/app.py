"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

import backdrop
from backdrop.api import examples, tags
from backdrop.api.deps import ReadinessDep
from backdrop.api.envelope import error_response, install_error_handlers, success
from backdrop.api.forwarded import TrustedProxies
from backdrop.api.limits import BodyLimit
from backdrop.api.middleware import RequestLog
from backdrop.api.photoroom import routes as photoroom
from backdrop.api.photoroom.errors import too_large
from backdrop.api.proxy_headers import ProxyHeaders
from backdrop.api.removebg import routes as removebg
from backdrop.api.responses import Envelope, HealthBody, LiveBody
from backdrop.api.routes import account, docs, orders, uploads, web
from backdrop.api.services import ApiServices, Readiness
from backdrop.observability.metrics import render as render_metrics

# JSON bodies are tiny; anything larger is refused before it is read (uploads are PUTs).
MAX_JSON_BYTES = 64 * 1024


class Process(Protocol):
    """What runs beside the API in the same process (workers, housekeeping)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def create_app(services: ApiServices, process: Process | None = None) -> FastAPI:
    """An app serving `services`; it starts `process` with itself and stops it after."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if process is not None:
            process.start()
        try:
            yield
        finally:
            if process is not None:
                process.stop()

    app = FastAPI(
        title="backdrop",
        version=backdrop.__version__,
        description="Self-hosted, LightX-compatible background removal and generation.",
        lifespan=lifespan,
        # /docs is served by routes.docs from local files (no CDN); ReDoc needs a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=tags.OPENAPI_TAGS,
    )
    app.state.services = services
    install_error_handlers(app)
    upload_bytes = services.settings.limits.max_upload_bytes
    # The one-call APIs take images in the body: their own limits.
    larger = {removebg.PATH: upload_bytes * removebg.BODY_FACTOR}
    larger |= {path: upload_bytes * photoroom.BODY_FACTOR for path in photoroom.PATHS}
    refusals = {path: too_large(path) for path in photoroom.PATHS}
    app.add_middleware(BodyLimit, max_bytes=MAX_JSON_BYTES, larger=larger, refusals=refusals)
    # Added after the others, so it is outside them: it sees every answer, errors included.
    app.add_middleware(RequestLog)
    # Outermost: the access line, the per-address limits and the URLs handed out all see the
    # client and host a trusted proxy forwarded.
    settings = services.settings
    app.add_middleware(
        ProxyHeaders,
        trusted=TrustedProxies.parse(settings.trusted_proxies),
        family=settings.forwarded_headers,
    )
    app.include_router(uploads.router)
    app.include_router(orders.router)
    app.include_router(account.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(removebg.router)
    app.include_router(photoroom.router)

    @app.get(
        "/health",
        tags=[tags.HEALTH],
        response_model=Envelope[HealthBody],
        summary="200 when the server can take orders",
        responses=examples.HEALTH,
    )
    def health(readiness: ReadinessDep) -> Any:
        return _readiness(readiness)

    @app.get(
        "/readyz",
        tags=[tags.HEALTH],
        summary="Readiness: 200 when the server takes orders",
        responses=examples.HEALTH,
    )
    def readyz(readiness: ReadinessDep) -> Any:
        return _readiness(readiness)

    @app.get(
        "/livez",
        tags=[tags.HEALTH],
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


def _readiness(readiness: Readiness) -> JSONResponse:
    problem = readiness.not_ready()
    if problem is not None:
        return error_response(503, 5031, "SERVICE_UNAVAILABLE", problem)
    return JSONResponse(success({"status": "ok", "version": backdrop.__version__}))
