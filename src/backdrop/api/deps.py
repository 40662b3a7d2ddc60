"""Request-scoped dependencies: each route asks for the few services it uses."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import APIKeyHeader

from backdrop.accounts.admission import Admission
from backdrop.accounts.api_keys import KeyInfo
from backdrop.api.services import ApiServices, Readiness
from backdrop.api.urls import base_urls
from backdrop.errors import InvalidApiKey
from backdrop.orders.desk import OrderDesk
from backdrop.orders.lookup import Orders
from backdrop.settings import Settings
from backdrop.uploads.service import Uploads


def _services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


ServicesDep = Annotated[ApiServices, Depends(_services)]


def _settings(services: ServicesDep) -> Settings:
    return services.settings


def _desk(services: ServicesDep) -> OrderDesk:
    return services.desk


def _orders(services: ServicesDep) -> Orders:
    return services.orders


def _uploads(services: ServicesDep) -> Uploads:
    return services.uploads


def _admission(services: ServicesDep) -> Admission:
    return services.admission


def _readiness(services: ServicesDep) -> Readiness:
    return services.readiness


SettingsDep = Annotated[Settings, Depends(_settings)]
DeskDep = Annotated[OrderDesk, Depends(_desk)]
OrdersDep = Annotated[Orders, Depends(_orders)]
UploadsDep = Annotated[Uploads, Depends(_uploads)]
AdmissionDep = Annotated[Admission, Depends(_admission)]
ReadinessDep = Annotated[Readiness, Depends(_readiness)]


# Declared as a security scheme, so /docs has an Authorize button that sends it with every
# "Try it out"; auto_error=False: a missing key is answered by the key check, in each API's
# own error shape, not by FastAPI.
API_KEY_HEADER = APIKeyHeader(
    name="x-api-key",
    scheme_name="apiKey",
    description="Your API key (`backdrop keys create`); remove.bg clients send it as X-Api-Key.",
    auto_error=False,
)


def current_key(
    request: Request,
    response: Response,
    services: ServicesDep,
    x_api_key: Annotated[str | None, Security(API_KEY_HEADER)] = None,
) -> KeyInfo:
    """The calling key, its request counted; answers carry its X-RateLimit-* headers.

    An address that keeps sending wrong keys is refused before its keys are even looked up.
    """
    address = request.client.host if request.client else ""
    services.quotas.check_address(address)
    try:
        key = services.keys.authenticate(x_api_key)
    except InvalidApiKey:
        services.quotas.failed_auth(address)
        raise
    response.headers.update(services.quotas.request(key.id).headers())
    return key


KeyDep = Annotated[KeyInfo, Depends(current_key)]


def get_bases(request: Request, settings: SettingsDep) -> list[str]:
    return base_urls(request, settings)


BasesDep = Annotated[list[str], Depends(get_bases)]
