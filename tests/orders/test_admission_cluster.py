"""Admission on a cluster's API node: the estimate comes from the shared order rows.

The broker's backlog is invisible there, so a slow spell must not shut new orders out for
good (no new order would finish to bring the mean down); the per-key limits still hold.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backdrop.accounts.admission import Admission
from backdrop.engines.segmentation import Segmenter
from backdrop.errors import RateLimited
from backdrop.kinds import Operation
from backdrop.orders.lookup import RecentOrders
from backdrop.settings import Settings
from tests.conftest import FakeClock, embedded, jpeg_bytes, place_removal, subject_photo
from tests.orders.test_storage_layer import _chunks


def test_recent_times_become_the_estimate_and_never_lock_the_cluster_out(
    tmp_path: Path, segmenter: Segmenter, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.worker.max_wait_seconds = 15
    settings.rate_limits.waiting_orders = 1
    rt = embedded(settings, segmenter, clock)  # the pool never starts
    try:
        assert rt.runner is not None
        key = rt.keys.create("k", 5).info
        data = jpeg_bytes(subject_photo(96, 72)[0])
        ticket = rt.uploads.request_upload(key.id, len(data), "image/jpeg")
        asyncio.run(
            rt.uploads.receive(
                ticket.grant, ticket.signature, "image/jpeg", len(data), _chunks(data)
            )
        )
        order = place_removal(rt, key.id, ticket.grant.object_key)
        clock.advance(60)  # a busy spell: the order waited a minute before it ran
        rt.runner.run(order.id)
        assert rt.orders.status(key.id, order.id).status == "active"

        view = RecentOrders(rt.orders)
        assert view.run_seconds(Operation.REMOVE_BACKGROUND.value) == 60
        admission = Admission(rt.db, rt.api.quotas, view, settings, lambda: False)
        # Over the 15 s bound, yet admitted, with the honest estimate.
        assert admission.admit_order(key.id, Operation.REMOVE_BACKGROUND) == 60

        place_removal(rt, key.id, ticket.grant.object_key)
        with pytest.raises(RateLimited):  # one order of this key is waiting already
            admission.admit_order(key.id, Operation.REMOVE_BACKGROUND)
    finally:
        rt.db.dispose()
