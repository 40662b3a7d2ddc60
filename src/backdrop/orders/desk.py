"""The order desk: one call per route takes an order in — admit it, create it, queue it —
and, for the one-call APIs, waits for it to be done."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from backdrop.accounts.admission import Admission
from backdrop.db.models import StoredImage
from backdrop.engines.generation import Framing
from backdrop.errors import (
    BackdropError,
    ClientGone,
    CreditsConsumed,
    InsufficientStorage,
    InvalidRequest,
    ServiceUnavailable,
    UnableToProcess,
)
from backdrop.imaging.output import OutputOptions
from backdrop.kinds import FailureCode, Operation, OrderStatus
from backdrop.orders.lifecycle import Lifecycle, OrderView
from backdrop.orders.lookup import Orders
from backdrop.orders.params import (
    BackgroundSpec,
    BlurredBackground,
    GenerationParams,
    ImageBackground,
    OrderParams,
    RemovalParams,
    background_from_text,
)
from backdrop.orders.prompts import check_prompt
from backdrop.queue.order_queue import OrderQueue
from backdrop.settings import Settings
from backdrop.storage.image_store import ImageStore
from backdrop.uploads.service import Uploads

log = logging.getLogger(__name__)
T = TypeVar("T")

# What a product photoshoot without a textPrompt asks for: the style image does the rest.
PHOTOSHOOT_PROMPT = "professional product photo, clean studio backdrop, soft light"
# How often a one-call route looks at its order: first soon, then less often.
_POLL_FIRST, _POLL_MAX = 0.05, 0.5


class ModelCheck(Protocol):
    """Whether a segmentation model id can be run by the workers this node queues to."""

    def check(self, model_id: str | None = None) -> str:
        """The resolved id; UnknownModel or WeightsUnavailable when it cannot run."""
        ...


class EngineCheck(Protocol):
    """Whether a generation engine id can be run by the workers this node queues to."""

    def check(self, engine_id: str) -> str:
        """The id; UnknownModel or WeightsUnavailable when it cannot run."""
        ...


@dataclass(frozen=True)
class RemovalWish:
    """What a client asked of a remove-background order, before it is checked."""

    image_key: str
    background: str | None = None
    # Set when `background` was an image URL: that image's object key.
    background_image_key: str | None = None
    model: str | None = None
    output: OutputOptions = field(default_factory=OutputOptions)
    # Set for a blurred copy of the photo as the background: the blur's radius (a fraction
    # of the photo's long side); `background` and `background_image_key` are then unused.
    background_blur: float | None = None


@dataclass(frozen=True)
class GenerationWish:
    """What a client asked of a generated background, before it is checked."""

    prompt: str | None
    seed: int | None = None
    negative_prompt: str | None = None
    engine: str | None = None
    style_image_key: str | None = None
    framing: Framing | None = None  # None: the default, "place"


@dataclass(frozen=True)
class Accepted:
    """A created, queued order and when it should be done (whole seconds from now)."""

    order: OrderView
    expected_seconds: int


class OrderDesk:
    def __init__(
        self,
        admission: Admission,
        lifecycle: Lifecycle,
        orders: Orders,
        uploads: Uploads,
        store: ImageStore,
        queue: OrderQueue,
        models: ModelCheck,
        engines: EngineCheck,
        settings: Settings,
        draining: Callable[[], bool] = lambda: False,
    ) -> None:
        self._admission = admission
        self._lifecycle = lifecycle
        self._orders = orders
        self._uploads = uploads
        self._store = store
        self._queue = queue
        self._models = models
        self._engines = engines
        self._settings = settings
        self._draining = draining

    def remove_background(self, key_id: str, wish: RemovalWish) -> Accepted:
        """A remove-background order.

        A `model` that is unknown, or known but not installed where orders run, is refused
        now rather than failing the order later.
        """
        megapixels = _megapixels(self._uploads.owned_image(key_id, wish.image_key))
        expected = self._admission.admit_order(key_id, Operation.REMOVE_BACKGROUND, megapixels)
        if wish.model is not None:
            self._models.check(wish.model)
        spec: BackgroundSpec
        if wish.background_blur is not None:
            spec = BlurredBackground(wish.image_key, wish.background_blur)
        elif wish.background_image_key is not None:
            self._uploads.owned_image(key_id, wish.background_image_key)
            spec = ImageBackground(wish.background_image_key)
        else:
            spec = background_from_text(wish.background)
        params = RemovalParams(background=spec, model=wish.model, output=wish.output)
        order = self._create(
            key_id, Operation.REMOVE_BACKGROUND, wish.image_key, params, megapixels
        )
        return Accepted(order, expected)

    def generate_background(
        self,
        key_id: str,
        image_key: str,
        wish: GenerationWish,
        operation: Operation = Operation.GENERATE_BACKGROUND,
    ) -> Accepted:
        """A background-generator or product-photoshoot order.

        background-generator needs a prompt; product-photoshoot needs a prompt, a style
        image, or both (LightX's sample clients send either). An `engine` that is unknown, or
        cannot run where orders run (diffusion without its extra or weights), is refused now,
        uncharged, rather than failing the order later.
        """
        megapixels = _megapixels(self._uploads.owned_image(key_id, image_key))
        expected = self._admission.admit_order(key_id, operation, megapixels)
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
        engine = self._engines.check(wish.engine) if wish.engine is not None else None
        if wish.style_image_key is not None:
            self._uploads.owned_image(key_id, wish.style_image_key)
        params = GenerationParams(
            prompt=prompt,
            seed=wish.seed,
            negative_prompt=negative,
            engine=engine,
            style_key=wish.style_image_key,
            framing=wish.framing or "place",
        )
        return Accepted(self._create(key_id, operation, image_key, params, megapixels), expected)

    async def deliver(
        self,
        key_id: str,
        order_id: str,
        gone: Callable[[], Awaitable[bool]],
        answer: Callable[[OrderView], Awaitable[T]],
    ) -> T:
        """The one-call APIs' rule, written once: wait for the order, make the answer from it,
        and let the order keep its charge only if the client is there to be handed the answer.

        A client that hung up (`gone()`), a restart that cuts the wait, or a request cancelled
        by the server leaves the order cancelled and its credits given back: ClientGone (logged
        as 499), or 503 naming the order.
        """
        try:
            done = await self._wait_until_done(key_id, order_id, gone)
            result = await answer(done)
            if await gone():
                raise ClientGone(f"the client hung up before order {order_id} was answered")
            return result
        except ClientGone as error:
            await asyncio.to_thread(self._cancel, order_id, error.detail)
            raise
        except asyncio.CancelledError:
            # The task is being torn down: no await may run, so the row is written here.
            self._cancel(order_id, "the request was cancelled before it was answered")
            raise

    def _cancel(self, order_id: str, reason: str) -> None:
        for key in self._lifecycle.cancel(order_id, reason):
            try:
                self._store.delete(key)
            except Exception:  # the sweeper removes what is left once it has expired
                log.exception("could not delete %s", key)

    async def _wait_until_done(
        self, key_id: str, order_id: str, gone: Callable[[], Awaitable[bool]]
    ) -> OrderView:
        """The order once it is active; its failure as an error; 503 naming it after the
        one-call wait (BACKDROP_REMOVEBG__WAIT_SECONDS) or when the server starts draining."""
        wait = self._settings.removebg.wait_seconds
        deadline = time.monotonic() + wait
        delay = _POLL_FIRST
        while True:
            if self._draining():
                reason = "the server restarted before the order was answered"
                await asyncio.to_thread(self._cancel, order_id, reason)
                raise ServiceUnavailable(
                    f"the server is restarting: order {order_id} was cancelled and is not "
                    "charged; send the request again shortly"
                )
            if await gone():
                raise ClientGone(f"the client hung up while order {order_id} ran")
            # Polling the row works wherever the order runs: in this process or on a worker.
            order = await asyncio.to_thread(self._orders.status, key_id, order_id)
            if order.status is OrderStatus.ACTIVE:
                return order
            if order.status is OrderStatus.FAILED:
                reason = order.failure_reason or "unable to process this image"
                if order.failure_code is FailureCode.CREDITS_CONSUMED:
                    raise CreditsConsumed(reason)
                if order.failure_code is FailureCode.STORAGE_FULL:
                    raise InsufficientStorage(reason)
                raise UnableToProcess(reason)
            if time.monotonic() + delay > deadline:
                raise ServiceUnavailable(
                    f"the order {order_id} did not finish within {wait:g} s; it goes on: poll "
                    "POST /external/api/v1/order-status with this orderId for its result"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)

    def removal_files(self, order: OrderView) -> tuple[bytes, bytes]:
        """The output and mask bytes of a finished removal."""
        if order.output_key is None or order.mask_key is None:
            raise UnableToProcess("the order finished without a result")
        return self._store.read(order.output_key), self._store.read(order.mask_key)

    def result_file(self, order: OrderView) -> bytes:
        """The output bytes of a finished order of any kind (a generation has no mask)."""
        if order.output_key is None:
            raise UnableToProcess("the order finished without a result")
        return self._store.read(order.output_key)

    def _create(
        self,
        key_id: str,
        operation: Operation,
        image_key: str,
        params: OrderParams,
        megapixels: float,
    ) -> OrderView:
        """Create the order, then queue it once it is committed (so a worker never looks for
        a row that does not exist yet). An order that cannot be queued fails, uncharged."""
        if not self._queue.has_room():
            raise ServiceUnavailable("too many orders are waiting; try again shortly")
        view = self._lifecycle.create(key_id, operation, image_key, params)
        try:
            self._queue.submit(view.id, owner=key_id, kind=operation, megapixels=megapixels)
        except BackdropError as error:
            self._lifecycle.abandon(view.id, error.detail)
            raise
        return view


def _megapixels(image: StoredImage) -> float:
    # An image whose size is not known yet (straight to a bucket) counts as a 1 MP one.
    return image.megapixels or 1.0
