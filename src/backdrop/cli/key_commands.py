"""`backdrop keys ...`: create, list, revoke and top up API keys in the server's database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from backdrop.errors import BackdropError

if TYPE_CHECKING:
    from backdrop.accounts.api_keys import ApiKeys
    from backdrop.settings import Settings

keys_app = typer.Typer(help="Manage API keys (in the database of BACKDROP_DATA_DIR).")
# soft_wrap: paths and commands stay on one line, whole, to be copied.
console = Console(stderr=True, soft_wrap=True)


def describe_storage(settings: Settings) -> str:
    """Which data dir and database a command uses, for people running several servers."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    return f"data dir {settings.data_dir.resolve()}, database {url}"


def _keys(settings: Settings, *, must_exist: bool) -> ApiKeys:
    from backdrop.accounts.api_keys import ApiKeys
    from backdrop.db.migrate import prepare
    from backdrop.db.session import Database

    if must_exist and settings.database_url is None and not settings.data_dir.is_dir():
        console.print(
            f"[red]error:[/red] there is no data dir at {settings.data_dir.resolve()}.\n"
            "Run this in the folder where `backdrop serve` runs, or set BACKDROP_DATA_DIR "
            "(and BACKDROP_DATABASE_URL, if the server uses one) to the server's."
        )
        raise typer.Exit(code=1)
    db = Database(settings.resolved_database_url)
    try:
        prepare(db.engine, migrate=settings.database.migrate_on_start)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(f"[dim]{describe_storage(settings)}[/dim]")
    return ApiKeys(db)


def _settings() -> Settings:
    from backdrop.settings import Settings

    return Settings()


def _fail(error: BackdropError) -> typer.Exit:
    console.print(f"[red]error:[/red] {error.detail}")
    return typer.Exit(code=1)


@keys_app.command("create")
def keys_create(
    credits: Annotated[float, typer.Option(help="Starting balance.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "key",
) -> None:
    """Create an API key; the secret is printed alone on the last line.

    The key works on the server that uses the same data dir (BACKDROP_DATA_DIR) or database.
    """
    keys = _keys(_settings(), must_exist=False)
    try:
        new = keys.create(name, credits)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(
        f"Created key '{new.info.name}' ({new.info.id}) with {new.info.credits:g} credits"
    )
    print(new.secret)


@keys_app.command("list")
def keys_list() -> None:
    """List keys with their balances (never their secrets)."""
    from rich.table import Table

    table = Table("id", "name", "credits", "status")
    for info in _keys(_settings(), must_exist=True).list():
        table.add_row(info.id, info.name, f"{info.credits:g}", "revoked" if info.revoked else "")
    Console().print(table)


KeyArgument = Annotated[str, typer.Argument(help="The key's id or name (see `keys list`).")]


@keys_app.command("revoke")
def keys_revoke(key: KeyArgument) -> None:
    """Refuse a key from now on (its orders and images stay until they expire)."""
    try:
        info = _keys(_settings(), must_exist=True).revoke(key)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(f"Revoked key '{info.name}' ({info.id})")


@keys_app.command("add-credits")
def keys_add_credits(
    key: KeyArgument,
    credits: Annotated[float, typer.Option(help="Credits to add.")],
) -> None:
    """Top a key up; prints the new balance."""
    try:
        info = _keys(_settings(), must_exist=True).add_credits(key, credits)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(f"Key '{info.name}' ({info.id}) now has {info.credits:g} credits")
    print(f"{info.credits:g}")
