"""The two operations, order status and the account balance."""

from __future__ import annotations

import io
from dataclasses import replace
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from PIL import Image

from backdrop.accounts.api_keys import KeyInfo
from backdrop.api import examples, tags
from backdrop.api.deps import BasesDep, DeskDep, KeyDep, OrdersDep, SettingsDep
from backdrop.api.envelope import success
from backdrop.api.responses import Envelope, OrderCreatedBody, OrderStatusBody
from backdrop.api.schemas import (
    BackgroundGeneratorRequest,
    OrderStatusRequest,
    ProductPhotoshootRequest,
    ProductPreviewRequest,
    RemoveBackgroundRequest,
)
from backdrop.api.urls import image_url, key_from_image_url, looks_like_url
from backdrop.errors import InvalidRequest
from backdrop.imaging.colors import parse_color
from backdrop.imaging.layout import Layout
from backdrop.imaging.layout_options import layout_from_text, preset_background
from backdrop.imaging.output import CONTENT_TYPES, OutputOptions, encode, max_side_for
from backdrop.imaging.shadows import ShadowSpec
from backdrop.imaging.staging import stage
from backdrop.kinds import Operation, OutputFormat
from backdrop.orders.desk import Accepted, GenerationWish, OrderDesk, RemovalWish
from backdrop.settings import Settings

router = APIRouter(prefix="/external/api/v1", tags=[tags.LIGHTX])


def _accepted(settings: Settings, accepted: Accepted) -> dict[str, Any]:
    return success(
        {
            "orderId": accepted.order.id,
            "maxRetriesAllowed": settings.worker.max_retries_allowed,
            "avgResponseTimeInSec": accepted.expected_seconds,
            "status": accepted.order.status,
        }
    )


@router.post(
    "/remove-background",
    response_model=Envelope[OrderCreatedBody],
    summary="Remove the background of an uploaded image",
    responses=examples.REMOVE_BACKGROUND,
)
def remove_background(
    body: RemoveBackgroundRequest,
    key: KeyDep,
    desk: DeskDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> dict[str, Any]:
    image_key = key_from_image_url(body.imageUrl, bases)
    background_key = None
    if body.background and looks_like_url(body.background):
        background_key = key_from_image_url(body.background, bases)
    background = body.background
    preset_colour = preset_background(body.canvas)
    if not background and preset_colour is not None:
        background = f"#{preset_colour}"  # a marketplace preset is on white unless told
    wish = RemovalWish(
        image_key=image_key,
        background=background,
        background_image_key=background_key,
        model=body.model,
        output=_output(body, settings.limits.max_pixels),
    )
    return _accepted(settings, desk.remove_background(key.id, wish))


def _layout(
    body: RemoveBackgroundRequest | ProductPreviewRequest, max_pixels: int
) -> Layout | None:
    """The layout the body's canvas, padding and align fields describe. A canvas over the
    server's pixel limit is refused here, before any order: JSON Schema cannot state a limit
    on width times height, so this 400 is documented (examples.CANVAS_TOO_LARGE) instead."""
    layout = layout_from_text(body.canvas, body.padding, body.align)
    if layout is not None and layout.size is not None:
        width, height = layout.size
        if width * height > max_pixels:
            raise InvalidRequest(
                f"canvas: {width}x{height} is {width * height / 1e6:.1f} MP, over this "
                f"server's limit of {max_pixels / 1e6:.0f} MP"
            )
    return layout


def _output(body: RemoveBackgroundRequest, max_pixels: int) -> OutputOptions:
    """backdrop's optional output fields; each one left out keeps LightX's behaviour."""
    layout = _layout(body, max_pixels)
    return OutputOptions(
        format=body.format or "png",
        crop=bool(body.crop),
        crop_margin=body.cropMargin or 0,
        max_side=max_side_for(body.size),
        channels=body.channels or "rgba",
        layout=layout,
        shadow=ShadowSpec(body.shadow) if body.shadow else None,
        light_match=bool(body.lightMatch),
    )


@router.post(
    "/background-generator",
    response_model=Envelope[OrderCreatedBody],
    summary="Put the subject on a background from a prompt",
    responses=examples.BACKGROUND_GENERATOR,
)
def background_generator(
    body: BackgroundGeneratorRequest,
    key: KeyDep,
    desk: DeskDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> dict[str, Any]:
    accepted = _generate(body, Operation.GENERATE_BACKGROUND, key, desk, bases)
    return _accepted(settings, accepted)


@router.post(
    "/product-photoshoot",
    response_model=Envelope[OrderCreatedBody],
    summary="Put a product on a background from a prompt and/or a style image",
    responses=examples.BACKGROUND_GENERATOR,
)
def product_photoshoot(
    body: ProductPhotoshootRequest,
    key: KeyDep,
    desk: DeskDep,
    settings: SettingsDep,
    bases: BasesDep,
) -> dict[str, Any]:
    accepted = _generate(body, Operation.PRODUCT_PHOTOSHOOT, key, desk, bases)
    return _accepted(settings, accepted)


def _generate(
    body: BackgroundGeneratorRequest | ProductPhotoshootRequest,
    operation: Operation,
    key: KeyInfo,
    desk: OrderDesk,
    bases: list[str],
) -> Accepted:
    image_key = key_from_image_url(body.imageUrl, bases)
    style_key = key_from_image_url(body.styleImageUrl, bases) if body.styleImageUrl else None
    wish = GenerationWish(
        prompt=body.textPrompt,
        seed=body.seed,
        negative_prompt=body.negativePrompt,
        engine=body.engine,
        style_image_key=style_key,
        framing=body.framing,
    )
    return desk.generate_background(key.id, image_key, wish, operation)


@router.post(
    "/order-status",
    response_model=Envelope[OrderStatusBody],
    # `reason` only on failed orders, as before; output and mask are always there.
    response_model_exclude_unset=True,
    summary="Poll an order (every 3 s, up to maxRetriesAllowed times)",
    responses=examples.ORDER_STATUS,
)
def order_status(
    body: OrderStatusRequest, key: KeyDep, orders: OrdersDep, bases: BasesDep
) -> dict[str, Any]:
    order = orders.status(key.id, body.orderId)
    result: dict[str, Any] = {
        "orderId": order.id,
        "status": order.status,
        "output": image_url(bases[0], order.output_key) if order.output_key else None,
        "mask": image_url(bases[0], order.mask_key) if order.mask_key else None,
    }
    if order.failure_reason:
        result["reason"] = order.failure_reason
    return success(result)


@router.post(
    "/product-preview",
    response_class=Response,
    summary="Preview a finished transparent removal on a canvas, with a shadow (no charge)",
    responses=examples.PRODUCT_PREVIEW,
)
def product_preview(
    body: ProductPreviewRequest,
    key: KeyDep,
    orders: OrdersDep,
    desk: DeskDep,
    settings: SettingsDep,
) -> Response:
    """The server's own rendering of what remove-background would give with these layout and
    shadow fields, made from the order's stored cutout at a small size: the page shows it as
    a live preview, and orders the full-size result once the person is happy."""
    order = orders.status(key.id, body.orderId)
    if order.operation is not Operation.REMOVE_BACKGROUND or order.status != "active":
        raise InvalidRequest("orderId: a preview needs a finished remove-background order")
    output, _ = desk.removal_files(order)
    cutout = Image.open(io.BytesIO(output))
    if cutout.mode != "RGBA":
        raise InvalidRequest(
            "orderId: a preview needs a transparent cutout (PNG or WebP, rgba, no background)"
        )
    # The same canvas as remove-background's would be refused there, so it is here too: a
    # preview promises a result that can be ordered.
    layout = _layout(body, settings.limits.max_pixels) or Layout()
    # Blank is transparent, as remove-background's background (orders/params.py).
    blank = body.background is None or not body.background.strip()
    color = None if blank else parse_color(body.background or "")
    if color is None and preset_background(body.canvas) is not None:
        color = parse_color(f"#{preset_background(body.canvas)}")
    small = replace(layout, max_width=body.longSide, max_height=body.longSide)
    staged = stage(
        cutout,
        layout=small,
        shadow=ShadowSpec(body.shadow) if body.shadow else None,
        background=color,
    )
    fmt: OutputFormat = "jpg" if staged.output.mode == "RGB" else "png"
    return Response(
        encode(staged.output, fmt),
        media_type=CONTENT_TYPES[fmt],
        headers={"Cache-Control": "no-store"},
    )
