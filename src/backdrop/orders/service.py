"""Orders as the API sees them: create (with credit checks), read status, time estimates."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from backdrop.db.models import ApiKey, Operation, Order, OrderStatus
from backdrop.db.session import Database
from backdrop.engines.builtin_models import resolve_model
from backdrop.engines.generation import check_engine
from backdrop.engines.segmenters import Segmenters
from backdrop.errors import (
    BackdropError,
    CreditsConsumed,
    InvalidApiKey,
    InvalidRequest,
    OrderNotFound,
    ServiceUnavailable,
)
from backdrop.imaging.output import OutputOptions
from backdrop.orders.clock import Clock, utcnow
from backdrop.orders.credits import COST_CENTS, available_cents, from_cents
from backdrop.orders.params import (
    BackgroundSpec,
    GenerationParams,
    ImageBackground,
    OrderParams,
    RemovalParams,
    background_from_text,
    to_json,
)
from backdrop.orders.prompts import check_prompt
from backdrop.orders.uploads import Uploads
from backdrop.queue.base import OrderQueue
from backdrop.settings import Settings

# How many recent orders the cluster's avgResponseTimeInSec estimate averages over.
_RECENT_ORDERS = 20

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
        queue: OrderQueue | None = None,
    ) -> None:
        self._models = models
        self._queue = queue
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
        than failing the order later. An API node of a cluster loads no model: it checks the
        id against the catalogue only (`models` is None), and the workers hold the weights.
        """
        if model is not None:
            if self._models is not None:
                self._models.check(model)
            else:
                resolve_model(model)
        self._uploads.owned_image(key_id, image_key)
        spec: BackgroundSpec
        if background_image_key is not None:
            self._uploads.owned_image(key_id, background_image_key)
            spec = ImageBackground(background_image_key)
        else:
            spec = background_from_text(background)
        params = RemovalParams(background=spec, model=model, output=output or OutputOptions())
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
        params = GenerationParams(
            prompt=prompt,
            seed=wish.seed,
            negative_prompt=negative,
            engine=engine,
            style_key=wish.style_image_key,
        )
        return self._create(key_id, operation, image_key, params)

    def _create(
        self, key_id: str, operation: Operation, image_key: str, params: OrderParams
    ) -> OrderView:
        """Create the order, then queue it once it is committed (so a worker never looks for
        a row that does not exist yet). An order that cannot be queued fails, uncharged."""
        if self._queue is not None and not self._queue.has_room():
            raise ServiceUnavailable("too many orders are waiting; try again shortly")
        view = self._insert(key_id, operation, image_key, params)
        if self._queue is not None:
            try:
                self._queue.submit(view.id, owner=key_id, kind=operation.value)
            except BackdropError as error:
                self.abandon(view.id, error.detail)
                raise
        return view

    def _insert(
        self, key_id: str, operation: Operation, image_key: str, params: OrderParams
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
                params=to_json(params),
                cost_cents=cost,
                charged_cents=0,
                attempts=0,
                created_at=now,
                expires_at=now + timedelta(seconds=self._settings.lifetimes.image_seconds),
                # No owner: free to claim. The expiry is when recovery queues it again.
                lease_expires_at=now + timedelta(seconds=self._settings.queue.requeue_seconds),
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

    def avg_response_seconds(self, operation: Operation) -> int:
        """Mean wall time of the latest finished orders of this kind, whole seconds, >= 1."""
        with self._db.unit_of_work() as session:
            rows = session.execute(
                select(Order.created_at, Order.finished_at)
                .where(
                    Order.operation == operation.value,
                    Order.status == OrderStatus.ACTIVE.value,
                    Order.finished_at.is_not(None),
                )
                .order_by(Order.finished_at.desc())
                .limit(_RECENT_ORDERS)
            ).all()
        durations = [(finished - created).total_seconds() for created, finished in rows if finished]
        if not durations:
            return self._settings.worker.default_response_seconds
        return max(1, math.ceil(sum(durations) / len(durations)))

    def abandon(self, order_id: str, reason: str) -> None:
        """Fail an order that could not be queued; it charged nothing."""
        with self._db.unit_of_work() as session:
            order = session.get(Order, order_id)
            # A worker may hold it already (the publish failed after the broker had it).
            if (
                order is not None
                and order.status == OrderStatus.INIT.value
                and order.lease_owner is None
            ):
                order.status = OrderStatus.FAILED.value
                order.failure_reason = reason
                order.finished_at = self._clock()

    def release_leases(self) -> int:
        """Free every `init` order's lease. Only for the embedded mode at start: its one
        process is the only runner, so any lease left was held by a run that died with it."""
        with self._db.unit_of_work() as session:
            released = session.execute(
                update(Order)
                .where(Order.status == OrderStatus.INIT.value, Order.lease_owner.is_not(None))
                .values(lease_owner=None, lease_expires_at=None)
            )
            return int(released.rowcount or 0)  # type: ignore[attr-defined]

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
