"""The batching worker's orders: a corrupt image fails only its own order (uncharged), and
leases are renewed while a long batch runs."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import REGISTRY

from backdrop.engines.batch_model import BatchModel
from backdrop.kinds import FailureCode, Operation
from backdrop.orders.params import GenerationParams
from tests.conftest import jpeg_bytes, subject_photo
from tests.orders.batch_harness import harness, tiny_settings


class SlowModel:
    """A batch model that holds each batch for `seconds` and counts its batches."""

    def __init__(self, inner: BatchModel, seconds: float) -> None:
        self._inner = inner
        self.seconds = seconds
        self.placement = inner.placement
        self.sizes: list[int] = []
        self.entered = threading.Event()

    def predict(self, pictures: Any, scales: Any) -> Any:
        self.sizes.append(len(pictures))
        self.entered.set()
        time.sleep(self.seconds)
        return self._inner.predict(pictures, scales)


def test_a_corrupt_image_in_a_batch_fails_only_its_own_order(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    good = jpeg_bytes(subject_photo(320, 240)[0])
    # JPEG's magic, then garbage: it passes the sniff and fails the decode.
    corrupt = good[:64] + b"\x00" * 200
    with harness(settings, batch=4, max_wait_ms=500) as rig:
        before = rig.credits()
        ids = [rig.order(good), rig.order(corrupt), rig.order(good), rig.order(good)]
        assert rig.run_all(ids) == [True] * 4
        rows = [rig.row(order_id) for order_id in ids]
        assert [row.status for row in rows] == ["active", "failed", "active", "active"]
        bad = rows[1]
        assert bad.failure_code == FailureCode.INVALID_IMAGE and bad.charged_cents == 0
        assert all(row.charged_cents == 50 for row in rows if row is not bad)
        assert before - rig.credits() == 3 * 50
        output = rig.node.store.read(rows[0].output_key or "")
        assert output.startswith(b"\x89PNG")
    # What /metrics shows of it: batches, their sizes and model time, the stage queues.
    assert (REGISTRY.get_sample_value("backdrop_batch_size_count") or 0) >= 1
    assert (REGISTRY.get_sample_value("backdrop_batch_model_seconds_count") or 0) >= 1
    assert REGISTRY.get_sample_value("backdrop_stage_queue_depth", {"stage": "ready"}) == 0


def test_generation_orders_run_beside_batches_not_in_them(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    good = jpeg_bytes(subject_photo(160, 120)[0])
    with harness(settings, batch=4, max_wait_ms=300) as rig:
        slow = SlowModel(rig.runner._model, seconds=0.0)
        rig.runner._model = slow  # type: ignore[assignment]
        removals = [rig.order(good) for _ in range(3)]
        key = "uploads/generation.jpg"
        rig.node.store.write(key, good, "image/jpeg")
        generation = rig.node.lifecycle.create(
            rig.key_id,
            Operation.GENERATE_BACKGROUND,
            key,
            GenerationParams(prompt="a wooden table", seed=1),
        ).id
        assert rig.run_all([*removals, generation]) == [True] * 4
        assert {rig.row(order_id).status for order_id in [*removals, generation]} == {"active"}
        # The three removals went through the model together; the generation order did not.
        assert slow.sizes == [3]


def test_leases_are_renewed_through_a_long_batch(tmp_path: Path) -> None:
    lease = 1.5
    settings = tiny_settings(tmp_path, lease_seconds=lease)
    good = jpeg_bytes(subject_photo(160, 120)[0])
    with harness(settings, batch=3, max_wait_ms=300) as rig:
        slow = SlowModel(rig.runner._model, seconds=4 * lease)
        rig.runner._model = slow  # type: ignore[assignment]
        ids = [rig.order(good) for _ in range(3)]
        done: list[bool] = []
        feeder = threading.Thread(target=lambda: done.extend(rig.run_all(ids)))
        feeder.start()
        assert slow.entered.wait(30)
        first = {order_id: rig.row(order_id).lease_expires_at for order_id in ids}
        time.sleep(2 * lease)
        # Still in the model, twice the lease later: every lease was moved on, none lapsed.
        for order_id in ids:
            row = rig.row(order_id)
            assert row.status == "init" and row.lease_owner is not None
            assert row.lease_expires_at is not None and row.lease_expires_at > first[order_id]
        feeder.join(60)
        assert done == [True] * 3
        assert slow.sizes == [3]  # one model call for the three
        for order_id in ids:
            row = rig.row(order_id)
            assert row.status == "active" and row.attempts == 1 and row.charged_cents == 50


def test_draining_hands_back_orders_claimed_but_not_in_a_batch(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    good = jpeg_bytes(subject_photo(160, 120)[0])
    with harness(settings, batch=1, max_wait_ms=0) as rig:
        slow = SlowModel(rig.runner._model, seconds=3.0)
        rig.runner._model = slow  # type: ignore[assignment]
        ids = [rig.order(good) for _ in range(3)]
        done: list[bool] = []
        feeder = threading.Thread(target=lambda: done.extend(rig.run_all(ids)))
        feeder.start()
        assert slow.entered.wait(30)
        time.sleep(0.5)  # the other two are claimed and waiting for the model
        rig.runner.drain()
        feeder.join(60)
        rows = {order_id: rig.row(order_id) for order_id in ids}
        finished = [i for i, ok in zip(ids, done, strict=True) if ok]
        handed = [i for i, ok in zip(ids, done, strict=True) if not ok]
        assert len(finished) == 1 and len(handed) == 2
        assert rows[finished[0]].status == "active"
        for order_id in handed:
            row = rows[order_id]
            # Free for another worker at once, and not counted as an attempt.
            assert row.status == "init" and row.lease_owner is None and row.attempts == 0


def test_batched_masks_match_the_per_image_engine(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    photos = [subject_photo(w, h)[0] for w, h in ((320, 240), (200, 300), (64, 64))]
    with harness(settings, batch=3, max_wait_ms=500) as rig:
        ids = [rig.order(jpeg_bytes(photo)) for photo in photos]
        rig.run_all(ids)
        segmenter = rig.node.segmenters.get()
        import io

        from PIL import Image

        from backdrop.imaging.decode import load_image

        for order_id, photo in zip(ids, photos, strict=True):
            row = rig.row(order_id)
            mask = np.asarray(Image.open(io.BytesIO(rig.node.store.read(row.mask_key or ""))))
            image = load_image(jpeg_bytes(photo), max_pixels=10**8)
            expected = segmenter.predict(image)
            assert np.abs(mask.astype(int) - expected.astype(int)).max() <= 1


class BrokenStages(ThreadPoolExecutor):
    """A stage pool whose process died: every submission fails as a broken pool."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(BrokenProcessPool("a stage process died"))
        return future


def test_a_dead_stage_process_hands_orders_back_instead_of_failing_them(
    tmp_path: Path,
) -> None:
    settings = tiny_settings(tmp_path)
    good = jpeg_bytes(subject_photo(160, 120)[0])
    with harness(settings, batch=2, stages=BrokenStages(1)) as rig:
        broken: list[bool] = []
        rig.runner._on_broken = lambda: broken.append(True)
        ids = [rig.order(good) for _ in range(2)]
        assert rig.run_all(ids) == [False, False]
        for order_id in ids:
            row = rig.row(order_id)
            assert row.status == "init" and row.lease_owner is None and row.attempts == 0
        assert broken == [True]  # the worker is told once to stop
