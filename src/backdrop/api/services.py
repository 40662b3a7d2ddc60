"""What the HTTP API needs of the service, built once where the process is built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from backdrop.accounts.admission import Admission
from backdrop.accounts.api_keys import ApiKeys
from backdrop.accounts.quotas import Quotas
from backdrop.orders.desk import OrderDesk
from backdrop.orders.lookup import Orders
from backdrop.settings import Settings
from backdrop.uploads.service import Uploads


class Readiness(Protocol):
    """Whether the process can take orders now (for /health and /readyz)."""

    def not_ready(self) -> str | None:
        """Why not, in a few words; None when it can."""
        ...


class ModelListing(Protocol):
    """The segmentation models the workers this node queues to can run."""

    @property
    def default_model(self) -> str: ...

    def installed(self) -> list[str]:
        """Model ids whose weights are installed."""
        ...

    def qualities(self) -> dict[str, str]:
        """Quality ("fast", "balanced", "best") -> the installed model id that answers it."""
        ...


@dataclass(frozen=True)
class ApiServices:
    settings: Settings
    keys: ApiKeys
    quotas: Quotas
    admission: Admission
    uploads: Uploads
    desk: OrderDesk
    orders: Orders
    readiness: Readiness
    models: ModelListing
