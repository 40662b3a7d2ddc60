"""The ASGI middleware that puts the real caller in the scope, for a trusted proxy's requests.

Outermost, so everything after it sees the caller forwarded.py found: the access line, the
wrong-key lockout and every per-address limit (`scope["client"]`), and the URLs handed out
(`request.base_url`, from `scope["scheme"]` and the Host header). A request from any other
peer passes untouched: its forwarded headers are ignored.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from backdrop.api.forwarded import FORWARDED_HEADER_NAMES, HeaderFamily, TrustedProxies, caller

log = logging.getLogger(__name__)

# Peers whose ignored forwarded headers were pointed out in the log: once each, and at most
# this many, so a client forging headers cannot fill the log.
_HINTS = 16


class ProxyHeaders:
    def __init__(self, app: ASGIApp, trusted: TrustedProxies, family: HeaderFamily) -> None:
        self.app = app
        self.trusted = trusted
        self.family = family
        self._hinted: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        found = caller(scope.get("client"), scope["headers"], self.trusted, self.family)
        if found is None:
            self._hint(scope)
            await self.app(scope, receive, send)
            return
        scope = dict(scope)
        scope["client"] = (found.address, found.port)
        if found.scheme is not None:
            secure = found.scheme == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = found.scheme
        if found.host is not None:
            headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
            scope["headers"] = [(b"host", found.host.encode("latin-1")), *headers]
        await self.app(scope, receive, send)

    def _hint(self, scope: Scope) -> None:
        client = scope.get("client")
        peer = client[0] if client else ""
        if not peer or peer in self._hinted or len(self._hinted) >= _HINTS:
            return
        if self.trusted.trusts(peer):
            return  # trusted, and it sent no forwarded header: nothing to point out
        names = {name for name, _ in scope["headers"]} & FORWARDED_HEADER_NAMES
        if not names:
            return
        self._hinted.add(peer)
        log.warning(
            "ignoring %s from %s: it is not in BACKDROP_TRUSTED_PROXIES, so per-address limits "
            "count it as the client (list it there if it is your reverse proxy; this is said "
            "once per address)",
            ", ".join(sorted(name.decode() for name in names)),
            peer,
        )
