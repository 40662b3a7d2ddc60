"""Interactive API docs at /docs, with Swagger UI served from a pinned package, not a CDN.

A self-hosted server may have no internet access; FastAPI's default page would load its
JavaScript and CSS from a CDN and stay blank there. The files are Swagger UI 5 as shipped in
the `fastapi-offline` package (Swagger UI 4 cannot read FastAPI's OpenAPI 3.1).
"""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)

_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}


@router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="backdrop API",
        swagger_js_url=f"{root}/docs-assets/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/docs-assets/swagger-ui.css",
        swagger_favicon_url=f"{root}/docs-assets/favicon.png",
    )


@router.get("/docs-assets/{name}")
def docs_asset(name: str) -> Response:
    media_type = _ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"no asset {name!r}")
    data = resources.files("fastapi_offline").joinpath("static", name).read_bytes()
    return Response(data, media_type=media_type, headers={"Cache-Control": "max-age=86400"})
