"""One ASGI middleware around every request: request id, access line, metrics, and closing
connections whose request body was not read.

It is pure ASGI (not BaseHTTPMiddleware) so upload bodies still stream.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backdrop.observability.logs import REQUEST_ID
from backdrop.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = logging.getLogger("backdrop.access")

_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        has_body = headers.get(b"content-length", b"0") != b"0" or b"transfer-encoding" in headers
        body_done = not has_body
        status = 500
        started = time.perf_counter()

        async def tracked_receive() -> Message:
            nonlocal body_done
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(b"x-request-id", request_id.encode())]
                if not body_done:
                    # Answered before the body was read (a refused upload): close the
                    # connection instead of reading the rest of it.
                    extra.append((b"connection", b"close"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, tracked_receive, tagged_send)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_LATENCY.labels(method, template).observe(elapsed)
            client = scope.get("client")
            # The path only: query strings carry upload signatures.
            log.info(
                "%s %s %s %d %.0fms%s",
                client[0] if client else "-",
                method,
                scope["path"],
                status,
                elapsed * 1000,
                " (client disconnected)" if status == 499 else "",
            )
            REQUEST_ID.reset(token)
