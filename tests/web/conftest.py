from __future__ import annotations

from collections.abc import Iterator

import pytest

from backdrop.runtime import Runtime
from tests.client.live import live_server


@pytest.fixture
def base_url(runtime: Runtime) -> Iterator[str]:
    with live_server(runtime) as url:
        yield url
