"""The two operations, order status and the account balance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from backdrop.api import examples
from backdrop.api.deps import BasesDep, KeyDep, RuntimeDep
from backdrop.api.envelope import success
from backdrop.api.responses import AccountBody, Envelope, OrderCreatedBody, OrderStatusBody
from backdrop.api.schemas import (
    BackgroundGeneratorRequest,
    OrderStatusRequest,
    ProductPhotoshootRequest,
    RemoveBackgroundRequest,
)
from backdrop.api.urls import image_url, key_from_image_url, looks_like_url
from backdrop.db.models import Operation
from backdrop.imaging.output import OutputOptions, max_side_for
from backdrop.orders.keys import KeyInfo
from backdrop.orders.service import GenerationWish, OrderView
from backdrop.runtime import Runtime

router = APIRouter(prefix="/external/api/v1")


def _accepted(runtime: Runtime, order: OrderView, expected: int) -> dict[str, Any]:
    return success(
        {
            "orderId": order.id,
            "maxRetriesAllowed": runtime.settings.worker.max_retries_allowed,
            "avgResponseTimeInSec": expected,
            "status": order.status,
        }
    )


@router.post(
    "/remove-background",
    response_model=Envelope[OrderCreatedBody],
    summary="Remove the background of an uploaded image",
    responses=examples.REMOVE_BACKGROUND,
)
def remove_background(
    body: RemoveBackgroundRequest, key: KeyDep, runtime: RuntimeDep, bases: BasesDep
) -> dict[str, Any]:
    image_key = key_from_image_url(body.imageUrl, bases)
    background_key = None
    if body.background and looks_like_url(body.background):
        background_key = key_from_image_url(body.background, bases)
    operation = Operation.REMOVE_BACKGROUND
    expected = runtime.admission.admit_order(key.id, operation)
    order = runtime.orders.create_removal(
        key.id, image_key, body.background, background_key, model=body.model, output=_output(body)
    )
    return _accepted(runtime, order, expected)


def _output(body: RemoveBackgroundRequest) -> OutputOptions:
    """backdrop's optional output fields; each one left out keeps LightX's behaviour."""
    return OutputOptions(
        format=body.format or "png",
        crop=bool(body.crop),
        crop_margin=body.cropMargin or 0,
        max_side=max_side_for(body.size),
        channels=body.channels or "rgba",
    )


@router.post(
    "/background-generator",
    response_model=Envelope[OrderCreatedBody],
    summary="Put the subject on a background from a prompt",
    responses=examples.BACKGROUND_GENERATOR,
)
def background_generator(
    body: BackgroundGeneratorRequest, key: KeyDep, runtime: RuntimeDep, bases: BasesDep
) -> dict[str, Any]:
    return _generate(body, Operation.GENERATE_BACKGROUND, key, runtime, bases)


@router.post(
    "/product-photoshoot",
    response_model=Envelope[OrderCreatedBody],
    summary="Put a product on a background from a prompt and/or a style image",
    responses=examples.BACKGROUND_GENERATOR,
)
def product_photoshoot(
    body: ProductPhotoshootRequest, key: KeyDep, runtime: RuntimeDep, bases: BasesDep
) -> dict[str, Any]:
    return _generate(body, Operation.PRODUCT_PHOTOSHOOT, key, runtime, bases)


def _generate(
    body: BackgroundGeneratorRequest | ProductPhotoshootRequest,
    operation: Operation,
    key: KeyInfo,
    runtime: Runtime,
    bases: list[str],
) -> dict[str, Any]:
    image_key = key_from_image_url(body.imageUrl, bases)
    style_key = key_from_image_url(body.styleImageUrl, bases) if body.styleImageUrl else None
    wish = GenerationWish(
        prompt=body.textPrompt,
        seed=body.seed,
        negative_prompt=body.negativePrompt,
        engine=body.engine,
        style_image_key=style_key,
    )
    expected = runtime.admission.admit_order(key.id, operation)
    order = runtime.orders.create_generation(key.id, image_key, wish, operation)
    return _accepted(runtime, order, expected)


@router.post(
    "/order-status",
    response_model=Envelope[OrderStatusBody],
    # `reason` only on failed orders, as before; output and mask are always there.
    response_model_exclude_unset=True,
    summary="Poll an order (every 3 s, up to maxRetriesAllowed times)",
    responses=examples.ORDER_STATUS,
)
def order_status(
    body: OrderStatusRequest, key: KeyDep, runtime: RuntimeDep, bases: BasesDep
) -> dict[str, Any]:
    order = runtime.orders.status(key.id, body.orderId)
    result: dict[str, Any] = {
        "orderId": order.id,
        "status": order.status,
        "output": image_url(bases[0], order.output_key) if order.output_key else None,
        "mask": image_url(bases[0], order.mask_key) if order.mask_key else None,
    }
    if order.failure_reason:
        result["reason"] = order.failure_reason
    return success(result)


@router.get(
    "/account",
    response_model=Envelope[AccountBody],
    summary="The calling key's credit balance",
    responses=examples.ACCOUNT,
)
def account(key: KeyDep) -> dict[str, Any]:
    return success({"credits": key.credits})
