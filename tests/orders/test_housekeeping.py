"""Every node runs the housekeeping loop; on PostgreSQL only the lock holder does the work."""

from __future__ import annotations

import time
from typing import Any

from backdrop.db.locks import ClusterLock
from backdrop.db.session import Database
from backdrop.orders.housekeeping import SWEEPER_LOCK_KEY, Housekeeper
from backdrop.orders.sweeper import SweepReport


class CountingSweeper:
    def __init__(self) -> None:
        self.sweeps = 0

    def sweep(self) -> SweepReport:
        self.sweeps += 1
        return SweepReport(0, 0, 0)


def _keeper(db: Database, sweeper: CountingSweeper, recovered: list[str]) -> Housekeeper:
    def recover() -> list[str]:
        recovered.append("pass")
        return []

    sweeper_any: Any = sweeper
    return Housekeeper(
        ClusterLock(db.engine, SWEEPER_LOCK_KEY),
        sweeper_any,
        sweep_interval=0.0001,
        recover=recover,
        recover_interval=0.0001,
    )


def test_only_the_lock_holder_sweeps_and_recovers(postgres_url: str) -> None:
    first, second = Database(postgres_url), Database(postgres_url)
    sweeps = [CountingSweeper(), CountingSweeper()]
    recovered: list[list[str]] = [[], []]
    keepers = [
        _keeper(db, s, r) for db, s, r in zip((first, second), sweeps, recovered, strict=True)
    ]
    try:
        for _ in range(3):
            time.sleep(0.01)  # past both (tiny) intervals
            for keeper in keepers:
                keeper.tick()
        assert [s.sweeps for s in sweeps] == [3, 0]
        assert [len(r) for r in recovered] == [3, 0]
        # The holder goes away (its connection and lock with it): the other one takes over.
        keepers[0].lock.release()
        first.dispose()
        time.sleep(0.01)
        keepers[1].tick()
        assert sweeps[1].sweeps == 1 and len(recovered[1]) == 1
    finally:
        for keeper in keepers:
            keeper.lock.release()
        second.dispose()
