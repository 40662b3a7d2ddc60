"""`POST /v1.0/removebg` and `GET /v1.0/account`, as remove.bg's clients call them.

The image becomes an upload, the call an ordinary remove-background order on the same queue,
workers and credits as the LightX API; the request then waits for the order (polling its row,
which works whether the workers run in this process or elsewhere) and answers with the result.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from PIL import Image

from backdrop.api.deps import BasesDep, KeyDep, RuntimeDep
from backdrop.api.removebg import examples
from backdrop.api.removebg.errors import RemoveBgRoute
from backdrop.api.removebg.params import RemoveBgRequest, read_request
from backdrop.api.removebg.results import answer, output_options
from backdrop.api.removebg.sources import image_key, store_bytes, url_key
from backdrop.db.models import Operation, OrderStatus
from backdrop.errors import CreditsConsumed, ServiceUnavailable, UnableToProcess
from backdrop.imaging.output import OutputOptions
from backdrop.orders.credits import COST_CENTS, from_cents
from backdrop.orders.keys import KeyInfo
from backdrop.orders.service import OrderView
from backdrop.runtime import Runtime
from backdrop.storage.fetch import FetchPolicy

router = APIRouter(prefix="/v1.0", route_class=RemoveBgRoute, tags=["remove.bg compatible"])

# Room for an image and a background image, base64-encoded (4/3 larger), plus the fields.
BODY_FACTOR = 3
PATH = "/v1.0/removebg"
_POLL_FIRST, _POLL_MAX = 0.05, 0.5


def fetch_policy(runtime: Runtime) -> FetchPolicy:
    fetch = runtime.settings.fetch
    return FetchPolicy(
        allowed_hosts=tuple(fetch.allowed_hosts),
        max_bytes=runtime.settings.limits.max_upload_bytes,
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
async def removebg(request: Request, key: KeyDep, runtime: RuntimeDep, bases: BasesDep) -> Response:
    limit = runtime.settings.limits.max_upload_bytes * BODY_FACTOR
    call = await read_request(request, limit)
    call.fields.check_supported()
    order, options = await _create_order(call, key, runtime, bases)
    done = await wait_for(runtime, key.id, order.id)
    output, mask = await asyncio.to_thread(_files, runtime, done)
    # Decoding the mask and zipping are CPU work: off the event loop.
    result = await asyncio.to_thread(answer, output, mask, options, call.fields.format == "zip")
    detected = call.fields.type if call.fields.type != "auto" else "other"
    headers = result.headers(from_cents(COST_CENTS[Operation.REMOVE_BACKGROUND]), detected)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(result.json(), headers=headers)
    return Response(result.content, media_type=result.media_type, headers=headers)


async def _create_order(
    call: RemoveBgRequest, key: KeyInfo, runtime: Runtime, bases: list[str]
) -> tuple[OrderView, OutputOptions]:
    fields, uploads, policy = call.fields, runtime.uploads, fetch_policy(runtime)
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
    width, height = await asyncio.to_thread(_image_size, runtime, key.id, source)
    options = output_options(fields, width, height, background_image=background_key is not None)
    # The same admission as the LightX routes: draining, waiting-orders and queue-wait limits.
    await asyncio.to_thread(runtime.admission.admit_order, key.id, Operation.REMOVE_BACKGROUND)
    order = await asyncio.to_thread(
        runtime.orders.create_removal,
        key.id,
        source,
        fields.bg_color,
        background_key,
        model=fields.model,
        output=options,
    )
    return order, options


def _image_size(runtime: Runtime, key_id: str, object_key: str) -> tuple[int, int]:
    # Another key's image URL is refused before anything of it is read.
    runtime.uploads.owned_image(key_id, object_key)
    # Only the header is read; the upload was fully verified when it was stored.
    with Image.open(io.BytesIO(runtime.store.read(object_key))) as image:
        return image.size


async def wait_for(runtime: Runtime, key_id: str, order_id: str) -> OrderView:
    """The order once it is active; its failure as an error; 503 naming it after the wait."""
    wait = runtime.settings.removebg.wait_seconds
    deadline = time.monotonic() + wait
    delay = _POLL_FIRST
    while True:
        order = await asyncio.to_thread(runtime.orders.status, key_id, order_id)
        if order.status == OrderStatus.ACTIVE.value:
            return order
        if order.status == OrderStatus.FAILED.value:
            reason = order.failure_reason or "unable to process this image"
            if reason == "API credits consumed":
                raise CreditsConsumed(reason)
            raise UnableToProcess(reason)
        if time.monotonic() + delay > deadline:
            raise ServiceUnavailable(
                f"the order {order_id} did not finish within {wait:g} s; it goes on: poll "
                "POST /external/api/v1/order-status with this orderId for its result"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, _POLL_MAX)


def _files(runtime: Runtime, order: OrderView) -> tuple[bytes, bytes]:
    if order.output_key is None or order.mask_key is None:
        raise UnableToProcess("the order finished without a result")
    return runtime.store.read(order.output_key), runtime.store.read(order.mask_key)


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
