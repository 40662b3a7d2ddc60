"""LightX's response envelope, for successes and for every error."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute, Match

from backdrop.errors import BackdropError, WeightsUnavailable, storage_full

log = logging.getLogger(__name__)

SUCCESS_CODE = 2000
# An absolute path inside a message (not a URL path: those follow a host or a backtick).
_SERVER_PATH = re.compile(r"(?<![\w`:/])/[^\s;,'`]+")
_PATH_IN_WORDS = "a location on the server (see its log)"
# Codes for errors raised by the HTTP layer itself rather than by a domain error.
_HTTP_ERRORS: dict[int, tuple[int, str]] = {
    404: (4040, "NOT_FOUND"),
    405: (4050, "METHOD_NOT_ALLOWED"),
    413: (4013, "PAYLOAD_TOO_LARGE"),
}


def success(body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": SUCCESS_CODE, "message": "SUCCESS", "body": body}


def error_response(
    http_status: int,
    code: int,
    message: str,
    detail: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=http_status,
        content={"statusCode": code, "message": message, "body": {"detail": detail}},
        headers=headers,
    )


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors():
        if item.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        parts.append(f"{location or 'body'}: {item.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE and isinstance(route, BaseRoute):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, in the envelope with a proper HTTP status."""

    @app.exception_handler(BackdropError)
    async def domain_error(_: Request, error: BackdropError) -> JSONResponse:
        detail = error.detail
        if isinstance(error, WeightsUnavailable):
            # Its detail names paths on the server: whole in the operator's log, not for clients.
            log.warning("%s", error.detail)
            # Words, not a placeholder: "installed in a location on the server (see its log)".
            detail = _SERVER_PATH.sub(_PATH_IN_WORDS, detail)
        return error_response(
            error.http_status, error.status_code, error.message, detail, error.headers
        )

    async def storage_error(request: Request, error: Exception) -> JSONResponse:
        # A full disk is the operator's to fix and the client's to retry: 507, not a 500.
        full = storage_full(error)
        if full is None:
            raise error  # on to `unexpected_error`, as before this handler existed
        log.error("a write failed for lack of space: %s", error)
        return await domain_error(request, full)

    # Where a full disk surfaces: file writes (OSError) and the database driver (wrapped by
    # SQLAlchemy). Registered by type, so other errors reach the 500 handler untouched.
    app.add_exception_handler(OSError, storage_error)
    app.add_exception_handler(DBAPIError, storage_error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(400, 4000, "INVALID_REQUEST", _describe_validation(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code, message = _HTTP_ERRORS.get(error.status_code, (error.status_code * 10, "ERROR"))
        headers = dict(error.headers or {})
        if error.status_code == 405:
            # Starlette names only the first route's methods; a path may have several routes.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return error_response(error.status_code, code, message, str(error.detail), headers)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(_: Request, __: ClientDisconnect) -> Response:
        # Nobody is left to answer; the access line says so (499), with no traceback.
        return Response(status_code=499)

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return error_response(500, 5000, "INTERNAL_ERROR", "an unexpected error occurred")
