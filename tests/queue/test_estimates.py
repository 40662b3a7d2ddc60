"""Run-time estimates: by image size, seeded, learned, and forgetting an outlier."""

from __future__ import annotations

from pathlib import Path

import pytest

from backdrop.accounts.admission import Admission
from backdrop.accounts.quotas import Quotas
from backdrop.db.migrate import upgrade
from backdrop.db.session import Database
from backdrop.errors import ServiceUnavailable
from backdrop.kinds import Operation
from backdrop.queue.estimates import HALF_LIFE_SECONDS, RunTimes
from backdrop.queue.pool import WorkerPool
from backdrop.settings import Settings
from tests.queue.test_pool import Recorder


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_configured_default_gives_way_to_the_first_run() -> None:
    times = RunTimes(5.0)
    assert times.expect("remove") == 5.0
    times.record("remove", 1.0, 1.2)
    assert times.expect("remove") == pytest.approx(1.2, abs=0.05)
    assert times.expect("generate") == 5.0  # per kind


def test_larger_images_are_expected_to_take_longer() -> None:
    times = RunTimes(5.0)
    times.seed("remove", 1.0)
    assert times.expect("remove", 1.0) == pytest.approx(1.0)
    assert times.expect("remove", 12.0) == pytest.approx(6.5)  # the model part stays fixed
    assert times.expect("remove", 0.1) == pytest.approx(0.55)
    # A 40 MP order that took 22 s says little about 1 MP ones: about 1 s per unit.
    times.record("remove", 40.0, 22.0)
    assert times.expect("remove", 1.0) < 1.1


def test_an_outlier_fades_with_time_and_with_normal_runs() -> None:
    clock = Clock()
    times = RunTimes(5.0, clock=clock)
    times.seed("generate", 2.0)
    times.record("generate", 1.0, 22.0)  # one cold, slow generation
    assert times.expect("generate") == pytest.approx(12.0)
    clock.now += 3 * HALF_LIFE_SECONDS
    assert times.expect("generate") < 4.5  # fading on its own
    for _ in range(5):
        times.record("generate", 1.0, 2.0)
    assert times.expect("generate") < 2.5


def test_one_slow_generation_does_not_lock_generation_out(tmp_path: Path) -> None:
    """The report: after one 22 s generation every later one was refused 503 for minutes.
    An order that would start at once is accepted and quoted honestly; with orders ahead of
    it, the bound still holds."""
    settings = Settings(data_dir=tmp_path / "data")
    settings.worker.max_wait_seconds = 15
    run = Recorder()
    run.gate.clear()
    pool = WorkerPool(run, concurrency=1, queue_size=10, default_run_seconds=2.0)
    pool.run_times.record(Operation.GENERATE_BACKGROUND, 1.0, 22.0)
    db = Database(f"sqlite:///{tmp_path / 'admission.db'}")
    upgrade(db.engine)
    admission = Admission(db, Quotas(settings.rate_limits), pool, settings, lambda: False)
    quoted = admission.admit_order("key", Operation.GENERATE_BACKGROUND, 1.0)
    assert quoted >= 15  # honest: the client is told to wait that long, not refused
    pool.start()
    pool.submit("running", owner="key", kind=Operation.GENERATE_BACKGROUND)
    assert run.started.wait(5)
    with pytest.raises(ServiceUnavailable):  # behind a ~22 s order: over the bound
        admission.admit_order("other", Operation.GENERATE_BACKGROUND, 1.0)
    run.gate.set()
    pool.join()
    pool.stop()
    db.dispose()
