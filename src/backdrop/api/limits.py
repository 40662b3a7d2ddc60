"""Caps on request bodies, enforced while they stream in (JSON bodies are small)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backdrop.api.envelope import error_response


class BodyLimit:
    """Refuse JSON bodies over `max_bytes` without reading them whole.

    Image uploads (PUT) are exempt: their route streams them against the signed size. Paths
    in `larger` (remove.bg's, which take images in the body) get their own limit; paths in
    `refusals` answer a declared oversize body in their API's own shape (a body found too
    large while it streams is refused by the route, in its shape already).
    """

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: dict[str, int] | None = None,
        refusals: Mapping[str, Callable[[str], Response]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}
        self.refusals = refusals or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in {"PUT", "GET", "HEAD"}:
            await self.app(scope, receive, send)
            return
        max_bytes = self.larger.get(scope["path"], self.max_bytes)
        detail = f"the request body exceeds {max_bytes} bytes"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            refuse = self.refusals.get(scope["path"])
            answer = (
                refuse(detail) if refuse else error_response(413, 4013, "PAYLOAD_TOO_LARGE", detail)
            )
            await answer(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # An HTTPException passes through FastAPI's body parsing as it is.
                    raise HTTPException(413, detail)
            return message

        await self.app(scope, limited_receive, send)
