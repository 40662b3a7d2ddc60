"""Request-scoped dependencies: the runtime, the calling key, the URL bases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request, Response

from backdrop.api.urls import base_urls
from backdrop.errors import InvalidApiKey
from backdrop.orders.keys import KeyInfo
from backdrop.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def current_key(
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    x_api_key: Annotated[str | None, Header()] = None,
) -> KeyInfo:
    """The calling key, its request counted; answers carry its X-RateLimit-* headers.

    An address that keeps sending wrong keys is refused before its keys are even looked up.
    """
    address = request.client.host if request.client else ""
    runtime.quotas.check_address(address)
    try:
        key = runtime.keys.authenticate(x_api_key)
    except InvalidApiKey:
        runtime.quotas.failed_auth(address)
        raise
    response.headers.update(runtime.quotas.request(key.id).headers())
    return key


KeyDep = Annotated[KeyInfo, Depends(current_key)]


def get_bases(request: Request, runtime: RuntimeDep) -> list[str]:
    return base_urls(request, runtime.settings)


BasesDep = Annotated[list[str], Depends(get_bases)]
