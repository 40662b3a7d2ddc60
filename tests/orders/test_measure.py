"""What the estimates start from: one 1 MP order of each kind, timed on this machine."""

from __future__ import annotations

from pathlib import Path

from backdrop.engines.segmentation import Segmenter
from backdrop.kinds import Operation
from backdrop.settings import Settings
from tests.conftest import FakeClock, embedded


def test_a_started_node_quotes_what_this_machine_measured(
    tmp_path: Path, segmenter: Segmenter, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    settings.worker.measure_at_start = True
    node = embedded(settings, segmenter, clock)
    node.start()
    try:
        default = float(settings.worker.default_response_seconds)
        for kind in Operation:
            seconds = node.pool.run_seconds(kind, 1.0)
            assert 0 < seconds < 60 and seconds != default, (kind, seconds)
        # A 12 MP order is quoted more than a 1 MP one: the pixel part grows.
        removal = node.pool.run_seconds(Operation.REMOVE_BACKGROUND, 1.0)
        assert node.pool.run_seconds(Operation.REMOVE_BACKGROUND, 12.0) > removal
    finally:
        node.stop()
