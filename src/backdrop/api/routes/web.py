"""The web page at `/`: plain HTML, CSS and JS shipped in the package; nothing from outside."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

# Only these files are served: a fixed table, so no path from a request reaches the filesystem.
_ASSETS: dict[str, str] = {
    "app.js": "text/javascript; charset=utf-8",
    "touchup.js": "text/javascript; charset=utf-8",
    "zip.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

# The page talks to this server only; images may be blob:/data: URLs made in the page.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; "
    "style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def _read(name: str) -> bytes:
    return resources.files("backdrop.api").joinpath("static", name).read_bytes()


@router.get("/")
def index() -> Response:
    return Response(
        _read("index.html"),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


@router.get("/static/{name}")
def asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no asset {name!r}")
    return Response(_read(name), media_type=media_type, headers={"Cache-Control": "no-cache"})
