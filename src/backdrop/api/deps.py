"""Request-scoped dependencies: the runtime, the calling key, the URL bases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from backdrop.api.urls import base_urls
from backdrop.orders.keys import KeyInfo
from backdrop.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def current_key(runtime: RuntimeDep, x_api_key: Annotated[str | None, Header()] = None) -> KeyInfo:
    return runtime.keys.authenticate(x_api_key)


KeyDep = Annotated[KeyInfo, Depends(current_key)]


def get_bases(request: Request, runtime: RuntimeDep) -> list[str]:
    return base_urls(request, runtime.settings)


BasesDep = Annotated[list[str], Depends(get_bases)]
