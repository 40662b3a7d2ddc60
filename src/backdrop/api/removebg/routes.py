"""`POST /v1.0/removebg` and `GET /v1.0/account`, as remove.bg's clients call them.

The image becomes an upload, the call an ordinary remove-background order on the same queue,
workers and credits as the LightX API; the request then waits for the order (polling its row,
which works whether the workers run in this process or elsewhere) and answers with the result.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backdrop.accounts.api_keys import KeyInfo
from backdrop.accounts.credits import COST_CENTS, from_cents
from backdrop.api import tags
from backdrop.api.deps import BasesDep, DeskDep, KeyDep, SettingsDep, UploadsDep
from backdrop.api.removebg import examples
from backdrop.api.removebg.errors import PREFIX, RemoveBgRoute
from backdrop.api.removebg.params import RemoveBgRequest, read_request
from backdrop.api.removebg.results import answer as answer_for
from backdrop.api.removebg.results import output_options
from backdrop.api.removebg.sources import image_key, store_bytes, url_key
from backdrop.imaging.output import OutputOptions
from backdrop.kinds import Operation
from backdrop.orders.desk import Accepted, OrderDesk, RemovalWish
from backdrop.orders.lifecycle import OrderView
from backdrop.settings import Settings
from backdrop.storage.fetch import FetchPolicy
from backdrop.uploads.service import Uploads

router = APIRouter(prefix=PREFIX, route_class=RemoveBgRoute, tags=[tags.REMOVEBG])

# Room for an image and a background image, base64-encoded (4/3 larger), plus the fields.
BODY_FACTOR = 3
PATH = f"{PREFIX}/removebg"


def fetch_policy(settings: Settings) -> FetchPolicy:
    fetch = settings.fetch
    return FetchPolicy(
        allowed_hosts=tuple(fetch.allowed_hosts),
        max_bytes=settings.limits.max_upload_bytes,
        timeout_seconds=fetch.timeout_seconds,
        max_redirects=fetch.max_redirects,
    )


@router.post(
    "/removebg",
    summary="Remove the background in one call (remove.bg's API)",
    responses=examples.REMOVEBG,
    response_class=Response,
    openapi_extra=examples.REMOVEBG_REQUEST,
)
async def removebg(
    request: Request,
    response: Response,
    key: KeyDep,
    desk: DeskDep,
    uploads: UploadsDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> Response:
    limit = settings.limits.max_upload_bytes * BODY_FACTOR
    call = await read_request(request, limit)
    call.fields.check_supported()
    accepted, options = await _create_order(call, key, desk, uploads, settings, bases)

    async def answer(done: OrderView) -> Response:
        output, mask = await asyncio.to_thread(desk.removal_files, done)
        # Decoding the mask and zipping are CPU work: off the event loop.
        result = await asyncio.to_thread(answer_for, output, mask, options, zipped)
        headers = result.headers(from_cents(COST_CENTS[Operation.REMOVE_BACKGROUND]), detected)
        # The answer is a Response of its own, so FastAPI drops what the key dependency set
        # on `response`; every keyed answer carries the X-RateLimit-* headers (README).
        headers |= rate_limit_headers(response)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(result.json(), headers=headers)
        # The bytes are an image (or a zip) from this origin: never to be sniffed as anything.
        headers["X-Content-Type-Options"] = "nosniff"
        return Response(result.content, media_type=result.media_type, headers=headers)

    zipped = call.fields.format == "zip"
    detected = call.fields.type if call.fields.type != "auto" else "other"
    return await desk.deliver(key.id, accepted.order.id, request.is_disconnected, answer)


def rate_limit_headers(response: Response) -> dict[str, str]:
    """The X-RateLimit-* headers `current_key` put on the route's response."""
    return {
        name: value
        for name, value in response.headers.items()
        if name.lower().startswith("x-ratelimit-")
    }


async def _create_order(
    call: RemoveBgRequest,
    key: KeyInfo,
    desk: OrderDesk,
    uploads: Uploads,
    settings: Settings,
    bases: list[str],
) -> tuple[Accepted, OutputOptions]:
    fields, policy = call.fields, fetch_policy(settings)
    source = await image_key(
        uploads,
        key.id,
        bases,
        policy,
        file=call.image_file,
        b64=fields.image_file_b64,
        url=fields.image_url,
    )
    background_key = None
    if call.bg_image_file is not None:
        background_key = await store_bytes(uploads, key.id, call.bg_image_file)
    elif fields.bg_image_url is not None:
        background_key = await url_key(uploads, key.id, bases, policy, fields.bg_image_url)
    width, height = await asyncio.to_thread(uploads.image_size, key.id, source)
    options = output_options(fields, width, height, background_image=background_key is not None)
    wish = RemovalWish(
        image_key=source,
        background=fields.bg_color,
        background_image_key=background_key,
        model=fields.model,
        output=options,
    )
    # The same desk as the LightX routes: draining, waiting-orders and queue-wait limits.
    accepted = await asyncio.to_thread(desk.remove_background, key.id, wish)
    return accepted, options


@router.get("/account", summary="The key's balance (remove.bg's shape)", responses=examples.ACCOUNT)
def account(key: KeyDep) -> dict[str, Any]:
    # Every credit here is pay-as-you-go: backdrop has no subscriptions or free calls.
    return {
        "data": {
            "attributes": {
                "credits": {
                    "total": key.credits,
                    "subscription": 0,
                    "payg": key.credits,
                    "enterprise": 0,
                },
                "api": {"free_calls": 0, "sizes": "all"},
            }
        }
    }
