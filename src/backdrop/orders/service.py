"""Orders as the API sees them: create (with credit checks), read status, time estimates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backdrop.db.models import ApiKey, Operation, Order, OrderStatus
from backdrop.db.session import Database
from backdrop.engines.generation import check_engine
from backdrop.engines.registry import Segmenters, resolve_model
from backdrop.errors import CreditsConsumed, InvalidApiKey, InvalidRequest, OrderNotFound
from backdrop.imaging.colors import parse_color
from backdrop.imaging.output import OutputOptions
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.credits import COST_CENTS, available_cents, from_cents
from backdrop.orders.prompts import check_prompt
from backdrop.orders.uploads import Uploads
from backdrop.settings import Settings

# What a product photoshoot without a textPrompt asks for: the style image does the rest.
PHOTOSHOOT_PROMPT = "professional product photo, clean studio backdrop, soft light"


@dataclass(frozen=True)
class GenerationWish:
    """What a client asked of a generated background, before it is checked."""

    prompt: str | None
    seed: int | None = None
    negative_prompt: str | None = None
    engine: str | None = None
    style_image_key: str | None = None


@dataclass(frozen=True)
class OrderView:
    id: str
    operation: str
    status: str
    output_key: str | None
    mask_key: str | None
    failure_reason: str | None


@dataclass(frozen=True)
class PendingOrder:
    id: str
    key_id: str
    operation: str


def new_order_id() -> str:
    # 25 hex characters, the shape of LightX's order ids.
    return secrets.token_hex(13)[:25]


class Orders:
    def __init__(
        self,
        db: Database,
        uploads: Uploads,
        settings: Settings,
        clock: Clock = utcnow,
        *,
        models: Segmenters | None = None,
    ) -> None:
        self._models = models
        self._db = db
        self._uploads = uploads
        self._settings = settings
        self._clock = clock

    def create_removal(
        self,
        key_id: str,
        image_key: str,
        background: str | None,
        background_image_key: str | None,
        *,
        model: str | None = None,
        output: OutputOptions | None = None,
    ) -> OrderView:
        """A remove-background order. `background_image_key` is set when background was a URL.

        A `model` that is unknown, or known but not installed here, is refused now rather
        than failing the order later.
        """
        if model is not None:
            if self._models is not None:
                self._models.check(model)
            else:
                resolve_model(model)
        self._uploads.owned_image(key_id, image_key)
        params: dict[str, Any]
        if background_image_key is not None:
            self._uploads.owned_image(key_id, background_image_key)
            params = {"background": {"kind": "image", "key": background_image_key}}
        elif background is None or not background.strip():
            params = {"background": {"kind": "transparent"}}
        else:
            rgba = parse_color(background)
            kind = "transparent" if rgba[3] == 0 else "color"
            params = {"background": {"kind": kind, "rgba": list(rgba)}}
        if model is not None:
            params["model"] = model
        if output is not None and output != OutputOptions():
            params["output"] = output.to_params()
        return self._create(key_id, Operation.REMOVE_BACKGROUND, image_key, params)

    def create_generation(
        self,
        key_id: str,
        image_key: str,
        wish: GenerationWish,
        operation: Operation = Operation.GENERATE_BACKGROUND,
    ) -> OrderView:
        """A background-generator or product-photoshoot order.

        background-generator needs a prompt; product-photoshoot needs a prompt, a style
        image, or both (LightX's sample clients send either).
        """
        limit = self._settings.limits.max_prompt_chars
        if operation is Operation.PRODUCT_PHOTOSHOOT and wish.prompt is None:
            if wish.style_image_key is None:
                raise InvalidRequest("give textPrompt, styleImageUrl or both")
            prompt = PHOTOSHOOT_PROMPT
        else:
            prompt = check_prompt(wish.prompt, limit)
        negative = None
        if wish.negative_prompt is not None and wish.negative_prompt.strip():
            negative = check_prompt(wish.negative_prompt, limit)
        engine = check_engine(wish.engine) if wish.engine is not None else None
        self._uploads.owned_image(key_id, image_key)
        if wish.style_image_key is not None:
            self._uploads.owned_image(key_id, wish.style_image_key)
        params = {
            "prompt": prompt,
            "seed": wish.seed,
            "negative_prompt": negative,
            "engine": engine,
            "style_key": wish.style_image_key,
        }
        return self._create(key_id, operation, image_key, params)

    def _create(
        self, key_id: str, operation: Operation, image_key: str, params: dict[str, Any]
    ) -> OrderView:
        cost = COST_CENTS[operation]
        now = self._clock()
        with self._db.unit_of_work() as session:
            # Lock the key's row so concurrent orders cannot both pass the credit check.
            key = session.scalar(select(ApiKey).where(ApiKey.id == key_id).with_for_update())
            if key is None:
                raise InvalidApiKey("unknown API key")
            available = available_cents(session, key)
            if available < cost:
                raise CreditsConsumed(
                    f"this order costs {from_cents(cost)} credits; "
                    f"{max(from_cents(available), 0.0)} are available"
                )
            order = Order(
                id=new_order_id(),
                api_key_id=key_id,
                operation=operation.value,
                status=OrderStatus.INIT.value,
                input_key=image_key,
                params=params,
                cost_cents=cost,
                charged_cents=0,
                attempts=0,
                created_at=now,
                expires_at=now + timedelta(seconds=self._settings.lifetimes.image_seconds),
            )
            session.add(order)
        return _view(order)

    def status(self, key_id: str, order_id: str) -> OrderView:
        """The order `order_id` if it belongs to `key_id`; another key's order is 'unknown'."""
        with self._db.unit_of_work() as session:
            order = session.get(Order, order_id) if order_id else None
            if order is None or order.api_key_id != key_id or order.expires_at <= self._clock():
                raise OrderNotFound(f"no order {order_id!r}")
            return _view(order)

    def abandon(self, order_id: str, reason: str) -> None:
        """Fail an order that could not be queued; it charged nothing."""
        with self._db.unit_of_work() as session:
            order = session.get(Order, order_id)
            if order is not None and order.status == OrderStatus.INIT.value:
                order.status = OrderStatus.FAILED.value
                order.failure_reason = reason
                order.finished_at = self._clock()

    def pending(self) -> list[PendingOrder]:
        """Orders still `init`, oldest first: what a restarted worker pool picks up again."""
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(Order.id, Order.api_key_id, Order.operation)
                .where(Order.status == OrderStatus.INIT.value)
                .order_by(Order.created_at)
            ).all()
        return [PendingOrder(*row) for row in rows]


def _view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        operation=order.operation,
        status=order.status,
        output_key=order.output_key,
        mask_key=order.mask_key,
        failure_reason=order.failure_reason,
    )
