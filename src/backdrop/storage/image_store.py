"""The ImageStore protocol: what the services need of wherever images live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol


class ImageStore(Protocol):
    """Objects addressed by validated keys (storage/object_keys.py), on disk or in a bucket."""

    # True when clients upload straight into the store (upload_url gives them a URL), so an
    # upload is first seen by a node when an order names it.
    direct_uploads: bool

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int | None:
        """The object's size in bytes, or None when there is none."""
        ...

    def read(self, key: str) -> bytes:
        """The object's bytes; ImageNotFound when there is none."""
        ...

    def write(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` so that readers see either nothing or the whole object."""
        ...

    async def receive(self, chunks: AsyncIterator[bytes], size: int) -> Path:
        """Stage exactly `size` bytes in a temporary file, to be checked, then committed or
        discarded; PayloadTooLarge or UploadSizeMismatch when the body differs."""
        ...

    def commit(self, staged: Path, key: str, content_type: str = "") -> None:
        """Keep a checked staged file as the object `key`."""
        ...

    def discard(self, staged: Path) -> None:
        """Delete a staged file (a missing one is not an error)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    def check_room(self, size: int) -> None:
        """InsufficientStorage when an upload of `size` bytes cannot fit now, so that no URL
        is handed out for bytes that could not be kept."""
        ...

    def upload_url(self, key: str, content_type: str, size: int, expires_in: int) -> str | None:
        """A URL a client PUTs exactly `size` bytes of `content_type` to, straight into the
        store; None when uploads go through the API node instead."""
        ...

    def download_url(self, key: str, expires_in: int) -> str | None:
        """A URL to read the object from directly; None when the API node serves it."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The object's file when it is one on this machine (served without copying)."""
        ...

    def sweep_orphans(self, older_than_seconds: float, now: float) -> int:
        """Delete leftovers of interrupted writes; returns how many."""
        ...
