"""Errors in remove.bg's shape: `{"errors": [{"title", "code", "detail"}]}` with its statuses.

remove.bg answers 400 for anything wrong with the request or the image, 402 when credits run
out, 403 for a bad key and 5xx when the service fails; its clients branch on those.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from backdrop.errors import (
    BackdropError,
    CreditsConsumed,
    InvalidApiKey,
    WeightsUnavailable,
    storage_full,
)

log = logging.getLogger(__name__)

# Where remove.bg's routes live: every answer under it, errors included, is in its shape.
PREFIX = "/v1.0"

# remove.bg's own codes where one exists; other errors use backdrop's message in lower case.
_CODES: dict[type[BackdropError], tuple[str, str]] = {
    InvalidApiKey: ("auth_failed", "API key invalid"),
    CreditsConsumed: ("insufficient_credits", "Insufficient credits"),
}


def error_body(title: str, code: str, detail: str) -> dict[str, Any]:
    return {"errors": [{"title": title, "code": code, "detail": detail}]}


def removebg_status(http_status: int) -> int:
    """The status remove.bg gives for what backdrop answers `http_status`."""
    # 499 (the client hung up) is only ever logged, never seen by a client.
    kept = (402, 403, 429, 499)
    return http_status if http_status in kept or http_status >= 500 else 400


def render(error: BackdropError) -> JSONResponse:
    if isinstance(error, WeightsUnavailable):
        log.warning("%s", error.detail)  # the paths it names are for the operator only
    code, title = _CODES.get(
        type(error), (error.message.lower(), error.message.replace("_", " ").capitalize())
    )
    return JSONResponse(
        error_body(title, code, error.public_detail),
        status_code=removebg_status(error.http_status),
    )


def internal_error() -> JSONResponse:
    """An error nobody expected, as remove.bg answers one (the traceback is in the log)."""
    return JSONResponse(
        error_body("Internal server error", "internal_error", "an unexpected error occurred"),
        status_code=500,
    )


class RemoveBgRoute(APIRoute):
    """Renders every error of its routes, dependencies (the key) included, as remove.bg does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except BackdropError as error:
                return render(error)
            except RequestValidationError as error:
                detail = "; ".join(str(item.get("msg", "invalid")) for item in error.errors())
                return JSONResponse(
                    error_body("Invalid parameters", "invalid_parameters", detail), 400
                )
            except HTTPException as error:  # the body-size limit
                status = removebg_status(error.status_code)
                return JSONResponse(
                    error_body("Invalid request", "invalid_request", str(error.detail)), status
                )
            except ClientDisconnect:
                raise  # nobody to answer: the app's handler logs it as 499
            except Exception as error:
                # A full disk is a 507 here too, in remove.bg's shape (storage_full is the one
                # mapping); anything else is a 500 in the same shape.
                full = storage_full(error)
                if full is not None:
                    log.error("a write failed for lack of space: %s", error)
                    return render(full)
                log.exception("unexpected error")
                return internal_error()

        return handle
