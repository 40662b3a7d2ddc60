"""One holder per cluster: a PostgreSQL advisory lock kept on a dedicated connection.

The lock lives as long as that connection: a node that dies (even by kill -9) drops it, and
another node takes it at its next try. SQLite is one machine's database, so there the lock
is always held.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)


class ClusterLock:
    def __init__(self, engine: Engine, key: int) -> None:
        self._engine = engine
        self._key = key
        self._connection: Connection | None = None

    @property
    def shared(self) -> bool:
        return self._engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """True when this process holds the lock (taking it now if it is free)."""
        if not self.shared:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                log.warning("lost the connection holding lock %d", self._key)
                self._drop()
        connection = self._engine.connect()
        try:
            held = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}
            ).scalar()
            # The lock belongs to the session, not to a transaction: end the implicit one
            # so the connection does not sit idle in a transaction.
            connection.commit()
        except Exception:
            connection.close()
            raise
        if held:
            self._connection = connection
            return True
        connection.close()
        return False

    def release(self) -> None:
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                )
                self._connection.commit()
            finally:
                self._drop()

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
            finally:
                self._connection = None
