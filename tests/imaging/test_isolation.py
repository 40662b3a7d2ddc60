"""The decode pool: results and domain errors cross back, a slow decode is killed in time."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from backdrop.errors import CorruptImage, ImageTooLarge
from backdrop.imaging.decode import load_image
from backdrop.imaging.isolation import DecodePool
from tests.imaging import hostile


def _pid_then_sleep(seconds: float, pid_file: str) -> None:
    with open(pid_file, "w") as file:
        file.write(str(os.getpid()))
    time.sleep(seconds)


def _too_large() -> None:
    raise ImageTooLarge("the image is 9x9 (81 pixels); the limit is 80 pixels")


def _crash() -> None:
    raise RuntimeError("/secret/server/path exploded")


def test_a_decode_runs_in_a_child_and_returns_the_image() -> None:
    pool = DecodePool(1, 30)
    data = hostile.encode(hostile.noise(40, 30), "PNG")
    image = pool.run(load_image, data, max_pixels=10_000)
    assert (image.mode, image.size) == ("RGB", (40, 30))
    assert image.tobytes() == load_image(data, max_pixels=10_000).tobytes()


def test_domain_errors_cross_back_and_others_become_corrupt_images() -> None:
    pool = DecodePool(1, 30)
    with pytest.raises(ImageTooLarge, match="81 pixels"):
        pool.run(_too_large)
    with pytest.raises(CorruptImage) as raised:
        pool.run(_crash)
    assert "/secret" not in raised.value.detail


def test_a_slow_decode_is_killed_at_its_budget(tmp_path: Path) -> None:
    pool = DecodePool(1, 1.0)
    pid_file = str(tmp_path / "pid")
    started = time.monotonic()
    with pytest.raises(CorruptImage, match="within 1 seconds"):
        pool.run(_pid_then_sleep, 60, pid_file)
    assert time.monotonic() - started < 10
    pid = int(Path(pid_file).read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


def test_concurrent_decodes_are_bounded() -> None:
    pool = DecodePool(2, 30)

    async def four() -> list[float]:
        async def one() -> float:
            await pool.run_async(time.sleep, 0.6)
            return time.monotonic()

        start = time.monotonic()
        return [end - start for end in await asyncio.gather(*(one() for _ in range(4)))]

    ends = sorted(asyncio.run(four()))
    # Two at a time: the last two finish a whole sleep after the first two.
    assert ends[2] - ends[0] > 0.5
