"""What a person should do next when a command fails: the error, then the way out."""

from __future__ import annotations

from backdrop.client.errors import (
    AuthenticationError,
    BackdropClientError,
    InsufficientCredits,
    TransportError,
)

_CREATE_KEY = (
    "create one where the server runs (with the server's BACKDROP_DATA_DIR): "
    "`backdrop keys create --credits 10`, then pass it with --api-key or BACKDROP_API_KEY"
)


def next_step(error: BackdropClientError, server: str | None) -> str:
    """`error` in words, with the next step for the errors a newcomer meets first."""
    where = server or "the server"
    if isinstance(error, TransportError):
        return (
            f"could not reach {where} ({error}).\n"
            "Start the server with `backdrop serve` (or `make run`), or point --server / "
            "BACKDROP_SERVER at the address it runs on."
        )
    if isinstance(error, AuthenticationError):
        return (
            f"{where} refused the API key ({error.message}: {error.detail}).\n"
            f"To get a key, {_CREATE_KEY}."
        )
    if isinstance(error, InsufficientCredits):
        return (
            f"not enough credits: {error.detail}.\nTop the key up where the server runs: "
            "`backdrop keys add-credits KEY_ID --credits 10` (ids: `backdrop keys list`)."
        )
    return str(error)
