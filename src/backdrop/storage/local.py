"""ImageStore on the local filesystem, with atomic writes."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

from backdrop.common.files import write_atomically
from backdrop.errors import ImageNotFound, InsufficientStorage
from backdrop.storage import staging
from backdrop.storage.object_keys import validate_key


class LocalImageStore:
    """Files under one root folder, addressed by validated object keys."""

    # Clients PUT their uploads to the API node, which stages and checks them here.
    direct_uploads = False

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self.path(key).stat().st_size
        except FileNotFoundError:
            return None

    def local_path(self, key: str) -> Path | None:
        path = self.path(key)
        return path if path.is_file() else None

    def check_room(self, size: int) -> None:
        # Free space for unprivileged writers (statvfs f_bavail). Only a first answer: a quota
        # or a concurrent writer can still fill the disk, and the write itself then says so.
        if shutil.disk_usage(self.root).free < size:
            raise InsufficientStorage()

    def upload_url(self, key: str, content_type: str, size: int, expires_in: int) -> None:
        # Uploads come through the API node's signed PUT (api/routes/uploads.py).
        return None

    def download_url(self, key: str, expires_in: int) -> None:
        return None

    def read(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise ImageNotFound(f"no such image: {key}") from None

    def write(self, key: str, data: bytes, content_type: str = "") -> None:
        """Write `data` so that readers see either nothing or the whole file."""
        write_atomically(self.path(key), data)

    async def receive(self, chunks: AsyncIterator[bytes], size: int) -> Path:
        """Stage an upload of exactly `size` bytes beside the files it will join."""
        return await staging.stage(chunks, size, self.root)

    def commit(self, staged: Path, key: str, content_type: str = "") -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)

    @staticmethod
    def discard(staged: Path) -> None:
        staging.discard(staged)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def sweep_orphans(self, older_than_seconds: float, now: float) -> int:
        """Delete temporary files left by a crash mid-upload; returns how many."""
        removed = 0
        for tmp in self.root.rglob(".*-*"):
            if tmp.is_file() and now - tmp.stat().st_mtime > older_than_seconds:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed += 1
        return removed
