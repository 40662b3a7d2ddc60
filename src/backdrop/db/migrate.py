"""Bring a database to the newest schema with Alembic, one process at a time.

Every process of a cluster may start at the same instant on an empty or old database
(compose, Kubernetes and systemd start them together). The migrations therefore run under a
lock: a PostgreSQL advisory lock taken inside the migration's own transaction, or an exclusive
file lock beside a SQLite file. The first process migrates; the others wait for it, then find
the schema current and do nothing.

A database *ahead* of the code (migrated by a newer release) is refused, never downgraded:
its rows may be in shapes this release does not know.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from backdrop.errors import BackdropError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# pg_advisory_xact_lock key: "bd-migr" in ASCII; the sweeper's lock (orders/housekeeping.py)
# is another key. Advisory locks are per database, so clusters on other databases never meet.
MIGRATION_LOCK_KEY = 0x62642D6D696772
UPGRADE_COMMAND = "backdrop db upgrade"


class SchemaMismatch(BackdropError):
    """The database's schema is not the one this release's code expects."""

    http_status = 500
    status_code = 5000
    message = "CONFIGURATION_ERROR"


class DatabaseUnreachable(BackdropError):
    """The database could not be connected to at start."""

    http_status = 503
    status_code = 5030
    message = "SERVICE_UNAVAILABLE"


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands against the code: its revision and the code's newest."""

    current: str | None  # None: an empty database
    head: str
    known: bool  # False: a revision this release does not have (a newer release's)

    @property
    def behind(self) -> bool:
        return self.known and self.current != self.head

    @property
    def ahead(self) -> bool:
        return not self.known

    def describe(self) -> str:
        current = self.current or "empty"
        if self.ahead:
            return f"database at {current}, ahead of this release (head {self.head})"
        if self.behind:
            return f"database at {current}, behind this release (head {self.head})"
        return f"database at {current}, current (head {self.head})"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "the migrations have no head"
    return head


def schema_state(engine: Engine) -> SchemaState:
    """The database's revision against the code's head (DatabaseUnreachable when down)."""
    with connected(engine) as connection:
        return _state(connection)


def _state(connection: Connection) -> SchemaState:
    current = MigrationContext.configure(connection).get_current_revision()
    scripts = _scripts()
    known = current is None or any(s.revision == current for s in scripts.walk_revisions())
    return SchemaState(current, head_revision(), known)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (up to `revision`; tests stop at earlier ones).

    Safe to call from any number of processes at once. SchemaMismatch when the database is
    ahead of the code.
    """
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _migrating(engine) as connection:
        state = _state(connection)
        if state.ahead:
            raise SchemaMismatch(_ahead_message(state))
        if revision == "head" and state.current == state.head:
            return
        log.info("migrating the database from %s to %s", state.current or "empty", revision)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def prepare(engine: Engine, *, migrate: bool) -> None:
    """What a process does with its database at start: migrate it (under the lock), or, when
    migrations are a separate step, refuse a database that is not at the code's head."""
    if migrate:
        with _unreachable_said(engine):
            upgrade(engine)
        return
    state = schema_state(engine)
    if state.ahead:
        raise SchemaMismatch(_ahead_message(state))
    if state.behind:
        raise SchemaMismatch(
            f"the {state.describe()}; run `{UPGRADE_COMMAND}` first "
            "(BACKDROP_DATABASE__MIGRATE_ON_START is false)"
        )


def _ahead_message(state: SchemaState) -> str:
    return (
        f"the {state.describe()}: a newer release migrated it. Run that release, or restore "
        "a backup from before; this release never downgrades a database"
    )


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` (an operator's way back to an older release)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


class ForeignKeyViolation(RuntimeError):
    """A SQLite migration left rows pointing at nothing; it was rolled back."""


@contextmanager
def connected(engine: Engine) -> Iterator[Connection]:
    """A connection, or DatabaseUnreachable saying where and why in one line."""
    with _unreachable_said(engine), engine.connect() as connection:
        yield connection


@contextmanager
def _unreachable_said(engine: Engine) -> Iterator[None]:
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as error:
        if not _is_connect_error(error):
            raise
        where = engine.url.render_as_string(hide_password=True)
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise DatabaseUnreachable(
            f"cannot reach the database {where}: {reason} (check BACKDROP_DATABASE_URL)"
        ) from None


def _is_connect_error(error: Exception) -> bool:
    # SQLAlchemy wraps a failed connect in OperationalError with no statement.
    return getattr(error, "statement", None) is None


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for the migrations, committed only if all succeed,
    holding the migration lock from before the schema is read until after the commit.

    SQLite alters most things by copying a table and dropping the old one (batch mode). With
    foreign keys enforced, as make_engine enforces them, dropping a table that other rows
    refer to fails: 0003's downgrade rebuilding api_keys did, on any database with orders or
    images, and so would any later rebuild of api_keys or images. SQLite's documented
    procedure for rebuilds (https://sqlite.org/lang_altertable.html#otheralter) is followed:
    enforcement off on this connection outside the transaction (the pragma is a no-op inside
    one), `PRAGMA foreign_key_check` before committing, and enforcement back on before the
    connection returns to the pool.
    """
    sqlite = engine.dialect.name == "sqlite"
    with _file_lock(engine) if sqlite else _nothing(), engine.connect() as connection:
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":
                    # Held until this transaction ends: a process that dies mid-migration
                    # rolls back and frees it. READ COMMITTED reads afresh at each statement,
                    # so a waiter that gets the lock sees the schema its predecessor committed.
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise ForeignKeyViolation(f"migration broke foreign keys: {broken}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive flock on `<database file>.migrate.lock` (none for an in-memory database).

    SQLite's own locks are not enough: connections set WAL mode and read the schema before
    the migration's write transaction begins, and those steps fail or race on a new file.
    """
    path = make_url(engine.url).database
    if not path or path == ":memory:":
        yield
        return
    lock_path = Path(path).with_name(Path(path).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    # On the driver's own connection: a SQLAlchemy execute would first BEGIN (session.py's
    # listener), and inside a transaction SQLite ignores this pragma.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
