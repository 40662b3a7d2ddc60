"""Bring a database to the newest schema with Alembic (run at every start; idempotent)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every pending migration (up to `revision`; tests stop at earlier ones)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to `revision` (an operator's way back to an older release)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


class ForeignKeyViolation(RuntimeError):
    """A SQLite migration left rows pointing at nothing; it was rolled back."""


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for the migrations, committed only if all succeed.

    SQLite alters most things by copying a table and dropping the old one (batch mode). With
    foreign keys enforced, as make_engine enforces them, dropping a table that other rows
    refer to fails: 0003's downgrade rebuilding api_keys did, on any database with orders or
    images, and so would any later rebuild of api_keys or images. SQLite's documented
    procedure for rebuilds (https://sqlite.org/lang_altertable.html#otheralter) is followed:
    enforcement off on this connection outside the transaction (the pragma is a no-op inside
    one), `PRAGMA foreign_key_check` before committing, and enforcement back on before the
    connection returns to the pool.
    """
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, on=False)
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise ForeignKeyViolation(f"migration broke foreign keys: {broken}")
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    # On the driver's own connection: a SQLAlchemy execute would first BEGIN (session.py's
    # listener), and inside a transaction SQLite ignores this pragma.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
