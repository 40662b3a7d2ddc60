"""The ground types: what an order is, where it stands, why it failed, what it produces.

Every layer names these the same way; nothing here imports anything of the project.
"""

from __future__ import annotations

import enum
from typing import Final, Literal


class OrderStatus(enum.StrEnum):
    """LightX's three states: init = processing, active = done, failed = error."""

    INIT = "init"
    ACTIVE = "active"
    FAILED = "failed"


class Operation(enum.StrEnum):
    """The kinds of order, named as their LightX routes are."""

    REMOVE_BACKGROUND = "remove-background"
    GENERATE_BACKGROUND = "background-generator"
    PRODUCT_PHOTOSHOOT = "product-photoshoot"


class FailureCode(enum.StrEnum):
    """Why an order failed, for code to act on; the order's `failure_reason` says it to people."""

    # The image could not be read, is of the wrong type, or is too large.
    INVALID_IMAGE = "invalid-image"
    # An image the order reads has expired or was deleted before the order ran.
    IMAGE_GONE = "image-gone"
    # The key's balance could not pay for the order when it finished.
    CREDITS_CONSUMED = "credits-consumed"
    # The model or engine the order asked for is not installed on the worker.
    ENGINE_UNAVAILABLE = "engine-unavailable"
    # The order could not be handed to a worker.
    NOT_QUEUED = "not-queued"
    # Workers died running it too many times.
    INTERRUPTED = "interrupted"
    # The result could not be written to the image store.
    STORAGE_FAILED = "storage-failed"
    # ... because the server's disk (or the database's) is full.
    STORAGE_FULL = "storage-full"
    # Anything else: the engine could not process this image.
    PROCESSING_FAILED = "processing-failed"
    # A one-call request (remove.bg) whose answer could not be handed over: the client hung
    # up, or a restart cut the wait. Nothing is charged.
    CANCELLED = "cancelled"


class GenerationEngine(enum.StrEnum):
    """Background generation engines: procedural on a CPU, or diffusion on a GPU."""

    STUDIO = "studio"
    DIFFUSION = "diffusion"


# The segmentation model a server runs when an order names none.
DEFAULT_MODEL: Final = "isnet-general"

# A remove-background result's encoding and channels (the mask is always a greyscale PNG).
OutputFormat = Literal["png", "webp", "jpg"]
Channels = Literal["rgba", "alpha"]
