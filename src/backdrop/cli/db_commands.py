"""`backdrop db ...`: the database's schema as a step of its own (a Kubernetes Job, a
compose one-shot), for clusters started with BACKDROP_DATABASE__MIGRATE_ON_START=false."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from backdrop.errors import BackdropError

if TYPE_CHECKING:
    from backdrop.db.session import Database
    from backdrop.settings import Settings

db_app = typer.Typer(help="Migrate and inspect the database's schema.", no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def _database() -> tuple[Settings, Database]:
    from backdrop.db.session import Database
    from backdrop.settings import Settings

    settings = Settings()
    return settings, Database(settings.resolved_database_url)


def _fail(error: BackdropError) -> typer.Exit:
    console.print(f"[red]error:[/red] {error.detail}", highlight=False)
    return typer.Exit(code=1)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database (BACKDROP_DATABASE_URL) to this release's schema. Safe to run
    while other processes start or run; refuses a database a newer release migrated."""
    from backdrop.cli.key_commands import describe_storage
    from backdrop.db.migrate import connected, schema_state, upgrade

    settings, db = _database()
    try:
        with connected(db.engine):
            pass  # an unreachable database is said in one line, before Alembic's traceback
        before = schema_state(db.engine)
        upgrade(db.engine)
        after = schema_state(db.engine)
    except BackdropError as error:
        raise _fail(error) from None
    finally:
        db.dispose()
    console.print(f"[dim]{describe_storage(settings)}[/dim]", highlight=False)
    if before.current == after.current:
        print(f"already at {after.current} (this release's head)")
    else:
        print(f"migrated from {before.current or 'an empty database'} to {after.current}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision against this release's; exit 1 unless equal."""
    from backdrop.db.migrate import UPGRADE_COMMAND, schema_state

    _, db = _database()
    try:
        state = schema_state(db.engine)
    except BackdropError as error:
        raise _fail(error) from None
    finally:
        db.dispose()
    print(state.describe())
    if state.behind:
        console.print(f"run `{UPGRADE_COMMAND}` to migrate it", highlight=False)
    if state.behind or state.ahead:
        raise typer.Exit(code=1)
