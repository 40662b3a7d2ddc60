"""`AsyncClient` against a real server: the same operations, concurrently."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from backdrop.client import AsyncClient, AsyncResult, NotFound, PollSchedule
from tests.conftest import png_bytes, subject_photo


def test_async_client_runs_orders_concurrently(base_url: str, api_key: str, tmp_path: Path) -> None:
    photo, _ = subject_photo(320, 240)

    async def scenario() -> tuple[AsyncResult, AsyncResult, float]:
        async with AsyncClient(
            base_url, api_key=api_key, poll=PollSchedule(max_interval=0.3)
        ) as client:
            removal, generation = await asyncio.gather(
                client.remove_background(png_bytes(photo), "transparent"),
                client.generate_background(photo, "forest"),
            )
            await removal.save(tmp_path / "cutout.png")
            with pytest.raises(NotFound):
                await client.wait("missing-order")
            return removal, generation, await client.credits()

    removal, generation, credits = asyncio.run(scenario())
    assert removal.status == "active" and generation.status == "active"
    cutout = asyncio.run(_reopen(tmp_path / "cutout.png"))
    assert cutout[0, 0] == 0 and cutout[130, 160] == 255
    assert credits == 10 - 0.5 - 1


async def _reopen(path: Path) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(path).getchannel("A"))
