"""The `backdrop` command. Heavy libraries are imported inside commands so `--help` is instant."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

import backdrop
from backdrop.errors import BackdropError

app = typer.Typer(
    help="backdrop: self-hosted, LightX-compatible background removal and generation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
models_app = typer.Typer(help="Manage model weights.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(models_app, name="models")

console = Console(stderr=True)


def _settings() -> backdrop.settings.Settings:
    from backdrop.settings import Settings

    return Settings()


def _fail(error: BackdropError) -> typer.Exit:
    console.print(f"[red]error:[/red] {error.detail}")
    return typer.Exit(code=1)


def _version(value: bool) -> None:
    if value:
        print(backdrop.__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Options common to every command."""


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (BACKDROP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BACKDROP_PORT).")] = None,
) -> None:
    """Run the API server on the embedded default (SQLite, local files, in-process workers)."""
    import uvicorn

    from backdrop.api.app import create_app
    from backdrop.runtime import build_runtime

    settings = _settings()
    if host is not None:
        settings.host = host
    if port is not None:
        settings.port = port
    try:
        runtime = build_runtime(settings)
    except BackdropError as error:
        raise _fail(error) from None
    if runtime.keys.count() == 0:
        new = runtime.keys.create("default", settings.initial_key_credits)
        console.print(
            f"[bold]Created an API key[/bold] '{new.info.name}' with {new.info.credits:g} credits "
            "(shown once; keep it):"
        )
        print(new.secret, flush=True)
    console.print(f"backdrop {backdrop.__version__} on http://{settings.host}:{settings.port}")
    uvicorn.run(create_app(runtime), host=settings.host, port=settings.port, log_level="info")


@keys_app.command("create")
def keys_create(
    credits: Annotated[float, typer.Option(help="Starting balance.")],
    name: Annotated[str, typer.Option(help="A label for the key.")] = "key",
) -> None:
    """Create an API key; the secret is printed alone on the last line."""
    from backdrop.db.migrate import upgrade
    from backdrop.db.session import Database
    from backdrop.orders.keys import ApiKeys

    settings = _settings()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    try:
        new = ApiKeys(db).create(name, credits)
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

    from backdrop.db.migrate import upgrade
    from backdrop.db.session import Database
    from backdrop.orders.keys import ApiKeys

    settings = _settings()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    table = Table("id", "name", "credits")
    for info in ApiKeys(db).list():
        table.add_row(info.id, info.name, f"{info.credits:g}")
    Console().print(table)


@models_app.command("fetch")
def models_fetch(
    model: Annotated[str, typer.Option(help="Model id.")] = "isnet-general",
) -> None:
    """Download and verify model weights into the model cache (BACKDROP_MODELS_DIR)."""
    from backdrop.engines.registry import fetch_model

    settings = _settings()
    try:
        path = fetch_model(model, settings.models_dir)
    except BackdropError as error:
        raise _fail(error) from None
    console.print(f"{model}: {path}")


@app.command()
def remove(
    images: Annotated[list[Path], typer.Argument(help="Image files to cut out.")],
    output_dir: Annotated[Path, typer.Option("-o", "--output-dir", help="Where to write.")],
    background: Annotated[
        str | None,
        typer.Option(help="transparent (default), a colour name or hex, or an image file."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Segmentation model id.")] = None,
) -> None:
    """Remove backgrounds locally, without a server.

    Writes DIR/<stem>.png (RGBA, or the composite with --background) and DIR/<stem>.mask.png.
    """
    from backdrop.cli.local import remove_files

    settings = _settings()
    try:
        failures = remove_files(
            settings, images, output_dir, background, model or settings.segmentation_model
        )
    except BackdropError as error:
        raise _fail(error) from None
    if failures:
        raise typer.Exit(code=1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        console.print("interrupted")
        sys.exit(130)
