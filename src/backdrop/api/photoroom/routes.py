"""`POST /v1/segment` and `POST|GET /v2/edit`, as Photoroom's clients call them.

Each call becomes an ordinary order on the same keys, credits, queue and workers as the
LightX and remove.bg routes — a removal (0.5 credit) or, with `background.prompt`, a
generated background (1 credit) — and the request waits for it through the order desk's
`deliver`, which hands back the charge when the client is gone or the order fails.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backdrop.accounts.api_keys import KeyInfo
from backdrop.api import tags
from backdrop.api.deps import BasesDep, DeskDep, KeyDep, SettingsDep, UploadsDep
from backdrop.api.photoroom import examples
from backdrop.api.photoroom.errors import EDIT_PATH, SEGMENT_PATH, PhotoroomRoute
from backdrop.api.photoroom.options import check_edit, edit_options, segment_options
from backdrop.api.photoroom.params import (
    EditFields,
    Form,
    InvalidCombination,
    SegmentFields,
    parse_fields,
    read_form,
)
from backdrop.api.photoroom.results import Answer, generated_answer, removal_answer
from backdrop.api.removebg.routes import fetch_policy, rate_limit_headers
from backdrop.api.removebg.sources import store_bytes, url_key
from backdrop.errors import InvalidRequest
from backdrop.orders.desk import GenerationWish, OrderDesk, RemovalWish
from backdrop.orders.lifecycle import OrderView
from backdrop.settings import Settings
from backdrop.uploads.service import Uploads

router = APIRouter(route_class=PhotoroomRoute, tags=[tags.PHOTOROOM])

# Room for an image and a background image, plus the fields.
BODY_FACTOR = 3
PATHS = (SEGMENT_PATH, EDIT_PATH)
_EDIT_FILES = ("imageFile", "background.imageFile")


@router.post(
    SEGMENT_PATH,
    summary="Remove the background (Photoroom's /v1/segment)",
    description=examples.SEGMENT_DESCRIPTION,
    responses=examples.SEGMENT,
    response_class=Response,
    openapi_extra=examples.SEGMENT_REQUEST,
)
async def segment(
    request: Request,
    response: Response,
    key: KeyDep,
    desk: DeskDep,
    uploads: UploadsDep,
    settings: SettingsDep,
) -> Response:
    form = await read_form(request, settings.limits.max_upload_bytes * BODY_FACTOR)
    _only_files(form, ("image_file",))
    fields = parse_fields(SegmentFields, form.values)
    image = form.files.get("image_file")
    if image is None:
        raise InvalidRequest("image_file is required: send the image as a multipart file")
    source = await store_bytes(uploads, key.id, image)
    width, height = await asyncio.to_thread(uploads.image_size, key.id, source)
    options = segment_options(fields, width, height)
    wish = RemovalWish(
        image_key=source, background=fields.bg_color, model=fields.model, output=options
    )
    accepted = await asyncio.to_thread(desk.remove_background, key.id, wish)

    async def answer(done: OrderView) -> Answer:
        output, mask = await asyncio.to_thread(desk.removal_files, done)
        return await asyncio.to_thread(removal_answer, output, mask, options.format)

    return await _deliver(request, response, key, desk, accepted.order.id, answer, json=True)


@router.post(
    EDIT_PATH,
    summary="Edit an image (Photoroom's /v2/edit, multipart)",
    description=examples.EDIT_DESCRIPTION,
    responses=examples.EDIT,
    response_class=Response,
    openapi_extra=examples.EDIT_REQUEST,
)
async def edit(
    request: Request,
    response: Response,
    key: KeyDep,
    desk: DeskDep,
    uploads: UploadsDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> Response:
    return await _edit(request, response, key, desk, uploads, settings, bases)


@router.get(
    EDIT_PATH,
    summary="Edit an image by URL (Photoroom's /v2/edit, query parameters)",
    description=examples.EDIT_DESCRIPTION,
    responses=examples.EDIT,
    response_class=Response,
    openapi_extra=examples.EDIT_QUERY,
)
async def edit_by_url(
    request: Request,
    response: Response,
    key: KeyDep,
    desk: DeskDep,
    uploads: UploadsDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> Response:
    return await _edit(request, response, key, desk, uploads, settings, bases)


async def _edit(
    request: Request,
    response: Response,
    key: KeyInfo,
    desk: OrderDesk,
    uploads: Uploads,
    settings: Settings,
    bases: list[str],
) -> Response:
    form = await read_form(request, settings.limits.max_upload_bytes * BODY_FACTOR)
    _only_files(form, _EDIT_FILES)
    fields = parse_fields(EditFields, form.values)
    image_file, background_file = (form.files.get(name) for name in _EDIT_FILES)
    check_edit(fields, background_file=background_file is not None)
    if (image_file is None) == (fields.image_url is None):
        raise (InvalidCombination if image_file is not None else InvalidRequest)(
            "give exactly one of imageFile (POST, multipart) and imageUrl"
            if image_file is not None
            else "no image given: send imageFile (POST, multipart) or imageUrl"
        )
    policy = fetch_policy(settings)
    if image_file is not None:
        source = await store_bytes(uploads, key.id, image_file)
    else:
        assert fields.image_url is not None
        source = await url_key(uploads, key.id, bases, policy, fields.image_url)
    dpi = fields.export_dpi
    options = edit_options(fields)

    if fields.background_prompt is not None:
        # The seed is chosen here when none is given, so the answer can say which was used.
        seed = fields.background_seed
        if seed is None:
            seed = secrets.randbelow(2**31)
        wish = GenerationWish(prompt=fields.background_prompt, seed=seed, framing="place")
        accepted = await asyncio.to_thread(desk.generate_background, key.id, source, wish)
        fmt = options.format

        async def generated(done: OrderView) -> Answer:
            output = await asyncio.to_thread(desk.result_file, done)
            return await asyncio.to_thread(generated_answer, output, fmt, seed, dpi)

        return await _deliver(request, response, key, desk, accepted.order.id, generated)

    background_key = None
    if background_file is not None:
        background_key = await store_bytes(uploads, key.id, background_file)
    elif fields.background_image_url is not None:
        background_key = await url_key(uploads, key.id, bases, policy, fields.background_image_url)
    blur = None
    if fields.background_blur_mode is not None:
        blur = fields.background_blur_radius or 0.01  # Photoroom's default radius
    removal = RemovalWish(
        image_key=source,
        background=fields.background_color,
        background_image_key=background_key,
        model=fields.model,
        output=options,
        background_blur=blur,
    )
    accepted = await asyncio.to_thread(desk.remove_background, key.id, removal)

    async def cutout(done: OrderView) -> Answer:
        output, mask = await asyncio.to_thread(desk.removal_files, done)
        return await asyncio.to_thread(removal_answer, output, mask, options.format, dpi)

    return await _deliver(request, response, key, desk, accepted.order.id, cutout)


def _only_files(form: Form, names: tuple[str, ...]) -> None:
    unexpected = sorted(set(form.files) - set(names))
    if unexpected:
        takes = ", ".join(names) if names else "no files"
        raise InvalidRequest(f"{', '.join(unexpected)}: not a file this route takes ({takes})")
    for name in names:
        if name in form.values:
            raise InvalidRequest(f"{name} must be sent as a file (multipart), not as text")


async def _deliver(
    request: Request,
    response: Response,
    key: KeyInfo,
    desk: OrderDesk,
    order_id: str,
    make: Callable[[OrderView], Awaitable[Answer]],
    *,
    json: bool = False,
) -> Response:
    """Wait for the order and answer with its image (or, for /v1/segment, JSON with it)."""

    async def answer(done: OrderView) -> Response:
        result = await make(done)
        # The answer is a Response of its own, so FastAPI drops what the key dependency set
        # on `response`; every keyed answer carries the X-RateLimit-* headers (README).
        headers = result.headers | rate_limit_headers(response)
        if json and "application/json" in request.headers.get("accept", ""):
            return JSONResponse(result.json(), headers=headers)
        # The bytes are an image from this origin: never to be sniffed as anything else.
        headers["X-Content-Type-Options"] = "nosniff"
        return Response(result.content, media_type=result.media_type, headers=headers)

    return await desk.deliver(key.id, order_id, request.is_disconnected, answer)
