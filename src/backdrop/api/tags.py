"""The groups /docs shows operations in, one per API a client speaks, and their order."""

from __future__ import annotations

from typing import Any

LIGHTX = "LightX"
REMOVEBG = "remove.bg"
PHOTOROOM = "Photoroom"
ACCOUNT = "Account"
HEALTH = "Health"

OPENAPI_TAGS: list[dict[str, Any]] = [
    {
        "name": LIGHTX,
        "description": "LightX's API: upload URL, PUT the bytes, create an order, poll it.",
    },
    {"name": REMOVEBG, "description": "remove.bg's API: one call answers with the image."},
    {
        "name": PHOTOROOM,
        "description": "Photoroom's API (/v1/segment, /v2/edit): one call answers with the image.",
    },
    {"name": ACCOUNT, "description": "The calling key's balance and the models it can use."},
    {"name": HEALTH, "description": "Whether the server is up and takes orders."},
]
