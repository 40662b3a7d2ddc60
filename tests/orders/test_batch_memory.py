"""The batching worker's memory stays flat: 500 orders through a tiny test-made model, the
worker process and its stage processes measured after a warm-up and at the end."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.conftest import jpeg_bytes, subject_photo
from tests.orders.batch_harness import harness, tiny_settings

ORDERS = 500
WARM_UP = 100
# What the 400 orders after the warm-up may add, all processes together: far below what
# holding on to each order would cost (each has a 240x180 photo, a PNG output and a mask,
# and a 320² prediction: ~0.5 MB per order, 200 MB for 400).
GROWTH_MIB = 40


def _rss_mib() -> float:
    me = psutil.Process()
    return sum(p.memory_info().rss for p in [me, *me.children(recursive=True)]) / 2**20


def test_memory_stays_flat_over_500_orders(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    photo = jpeg_bytes(subject_photo(240, 180)[0])
    with harness(settings, batch=8, max_wait_ms=5, processes=2, credits=1000) as rig:
        ids = [rig.order(photo) for _ in range(ORDERS)]
        assert all(rig.run_all(ids[:WARM_UP]))
        after_warm_up = _rss_mib()
        assert all(rig.run_all(ids[WARM_UP:]))
        at_end = _rss_mib()
        statuses = {rig.row(order_id).status for order_id in ids}
        assert statuses == {"active"}
    assert at_end - after_warm_up < GROWTH_MIB, (after_warm_up, at_end)
