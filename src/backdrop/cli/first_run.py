"""What `backdrop serve` says once it listens: where the page is, the key, what to run next."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

# Addresses that mean "every interface": a browser on this machine uses loopback instead.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}

MakeKey = Callable[[], str | None]


def page_url(host: str, port: int) -> str:
    """The web page's URL as a browser on this machine opens it."""
    shown = _ANY_ADDRESS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/"


def taken_port_message(host: str, port: int) -> str:
    return (
        f"port {port} on {host} is already in use (another backdrop serve?).\n"
        f"Stop that process, or start on another port: BACKDROP_PORT={port + 1} backdrop serve "
        f"(or --port {port + 1})."
    )


@dataclass
class ReadyBlock:
    """Printed once the server listens: made then, so a failed start never loses a new key.

    `make_key` creates the first key when the database has none and returns its secret; the
    secret goes alone on stdout (scripts read it there), the rest to the console (stderr).
    """

    url: str
    make_key: MakeKey
    console: Console

    def __call__(self) -> None:
        secret = self.make_key()
        base = self.url.rstrip("/")
        self.console.print()
        self.console.rule("[bold]backdrop is ready[/bold]")
        if secret is not None:
            self.console.print(
                f"Open {self.url} and paste this key (a new key with its credits; shown once, "
                "keep it):",
                highlight=False,
            )
            print(secret, flush=True)
            # The console is the server's log: the secret is printed once, on stdout only.
            key = "<the key above>"
        else:
            self.console.print(f"Open {self.url} and paste your API key.", highlight=False)
            self.console.print(
                "No key at hand? `backdrop keys create --credits 10` (same BACKDROP_DATA_DIR).",
                highlight=False,
            )
            key = "<your key>"
        self.console.print(
            "Next, in another terminal: "
            f"backdrop remove photo.jpg -o cutouts --server {base} --api-key {key}",
            highlight=False,
        )
        self.console.rule()
