"""What an order is and where it stands, as its API names them."""

from __future__ import annotations

import enum


class OrderStatus(enum.StrEnum):
    """LightX's three states: init = processing, active = done, failed = error."""

    INIT = "init"
    ACTIVE = "active"
    FAILED = "failed"


class Operation(enum.StrEnum):
    REMOVE_BACKGROUND = "remove-background"
    GENERATE_BACKGROUND = "background-generator"
    PRODUCT_PHOTOSHOOT = "product-photoshoot"
