"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

import backdrop
from backdrop.api import examples
from backdrop.api.deps import RuntimeDep
from backdrop.api.envelope import error_response, install_error_handlers, success
from backdrop.api.limits import BodyLimit
from backdrop.api.removebg import routes as removebg
from backdrop.api.routes import docs, orders, uploads, web
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
    app.include_router(uploads.router)
    app.include_router(orders.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(removebg.router)

    @app.get("/health", summary="200 when the server can take orders", responses=examples.HEALTH)
    def health(runtime: RuntimeDep) -> Any:
        try:
            with runtime.db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return error_response(503, 5031, "SERVICE_UNAVAILABLE", "the database is unreachable")
        if not runtime.queue.alive:
            return error_response(503, 5031, "SERVICE_UNAVAILABLE", "the workers are not running")
        return JSONResponse(success({"status": "ok", "version": backdrop.__version__}))

    return app
