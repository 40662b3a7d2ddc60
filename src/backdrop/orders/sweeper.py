"""Deletes what has outlived its 24 hours: image files, their rows, and finished orders."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select

from backdrop.common.clock import Clock, utcnow
from backdrop.db.models import StoredImage
from backdrop.db.session import Database
from backdrop.orders.lifecycle import Lifecycle
from backdrop.storage.image_store import ImageStore

# Temporary upload files older than this are leftovers of a crash.
_ORPHAN_SECONDS = 3600.0
_BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    images: int
    orders: int
    orphans: int


class Sweeper:
    def __init__(
        self, db: Database, store: ImageStore, lifecycle: Lifecycle, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._store = store
        self._lifecycle = lifecycle
        self._clock = clock

    def sweep(self) -> SweepReport:
        now = self._clock()
        with self._db.unit_of_work() as session:
            keys = list(
                session.scalars(select(StoredImage.key).where(StoredImage.expires_at <= now))
            )
        # Files first, rows after: a crash in between leaves a row whose file is gone (served
        # as 404), never a file that no row points at.
        for key in keys:
            self._store.delete(key)
        with self._db.unit_of_work() as session:
            # In batches: SQLite caps the number of bound parameters in one statement.
            for start in range(0, len(keys), _BATCH):
                batch = keys[start : start + _BATCH]
                session.execute(delete(StoredImage).where(StoredImage.key.in_(batch)))
        removed_orders = self._lifecycle.expire()
        orphans = self._store.sweep_orphans(_ORPHAN_SECONDS, now.timestamp())
        return SweepReport(len(keys), removed_orders, orphans)
