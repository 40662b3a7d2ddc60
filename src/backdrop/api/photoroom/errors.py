"""Errors in Photoroom's shape: `{"detail", "status_code", "type"}`, with its statuses.

Photoroom's published OpenAPI gives `/v1/segment` errors exactly that shape; for `/v2/edit` it
documents `{"error": {"message"}}` (and `{"error": {"detail"}}` for a 402). The `/v2/edit`
answers here carry both: the three keys of the v1 shape, and `error` with the same text as
`message` and `detail`, so a client reading either finds it. Photoroom answers 400 for
anything wrong with the request or the image, 402 when credits run out, 403 for a bad key and
5xx when the service fails; backdrop keeps 429 (with Retry-After) as well. `type` is
backdrop's error name in lower case (`invalid_request`, `invalid_api_key`, ...): Photoroom does
not publish its list.
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

from backdrop.errors import BackdropError, WeightsUnavailable, storage_full

log = logging.getLogger(__name__)

SEGMENT_PATH = "/v1/segment"
EDIT_PATH = "/v2/edit"
PATHS = (SEGMENT_PATH, EDIT_PATH)


def error_body(status: int, kind: str, detail: str, *, edit: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "status_code": status, "type": kind}
    if edit:
        body["error"] = {"message": detail, "detail": detail}
    return body


def photoroom_status(http_status: int) -> int:
    """The status Photoroom gives for what backdrop answers `http_status`."""
    kept = (402, 403, 429, 499)  # 499 (the client hung up) is only ever logged
    return http_status if http_status in kept or http_status >= 500 else 400


def _is_edit(request: Request) -> bool:
    return request.url.path.startswith("/v2/")


def render(error: BackdropError, *, edit: bool) -> JSONResponse:
    if isinstance(error, WeightsUnavailable):
        log.warning("%s", error.detail)  # the paths it names are for the operator only
    status = photoroom_status(error.http_status)
    return JSONResponse(
        error_body(status, error.message.lower(), error.public_detail, edit=edit),
        status_code=status,
        headers=error.headers,
    )


def too_large(path: str) -> Callable[[str], JSONResponse]:
    """A body declared over the limit, refused before it is read (api/limits.py)."""
    edit = path.startswith("/v2/")
    return lambda detail: JSONResponse(
        error_body(400, "payload_too_large", detail, edit=edit), status_code=400
    )


def internal_error(*, edit: bool) -> JSONResponse:
    """An error nobody expected (the traceback is in the log)."""
    body = error_body(500, "internal_error", "an unexpected error occurred", edit=edit)
    return JSONResponse(body, status_code=500)


class PhotoroomRoute(APIRoute):
    """Renders every error of its routes, dependencies (the key) included, as Photoroom does."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            edit = _is_edit(request)
            try:
                return await handler(request)
            except BackdropError as error:
                return render(error, edit=edit)
            except RequestValidationError as error:
                detail = "; ".join(str(item.get("msg", "invalid")) for item in error.errors())
                return JSONResponse(error_body(400, "invalid_request", detail, edit=edit), 400)
            except HTTPException as error:  # the body-size limit
                status = photoroom_status(error.status_code)
                body = error_body(status, "invalid_request", str(error.detail), edit=edit)
                return JSONResponse(body, status)
            except ClientDisconnect:
                raise  # nobody to answer: the app's handler logs it as 499
            except Exception as error:
                full = storage_full(error)
                if full is not None:
                    log.error("a write failed for lack of space: %s", error)
                    return render(full, edit=edit)
                log.exception("unexpected error")
                return internal_error(edit=edit)

        return handle
