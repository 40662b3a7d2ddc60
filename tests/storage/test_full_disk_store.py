"""The local store on a real full disk (tmpfs): room is checked before an upload is granted,
and a write cut short by ENOSPC leaves no file behind, partial or temporary."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from backdrop.errors import InsufficientStorage
from backdrop.storage.local import LocalImageStore
from tests.disks import small_disk


def test_local_store_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "files", size="1m") as disk:
        store = LocalImageStore(disk.root)
        store.check_room(100_000)
        disk.fill(leave=8192)
        with pytest.raises(InsufficientStorage):
            store.check_room(100_000)
        free = disk.free_bytes
        with pytest.raises(OSError) as raised:
            store.write("results/x.png", bytes(100_000), "image/png")
        assert raised.value.errno == errno.ENOSPC
        assert disk.files() == [] and disk.free_bytes == free
        assert not store.exists("results/x.png")
        disk.free()
        store.check_room(100_000)
        store.write("results/x.png", bytes(100_000), "image/png")
        assert store.size("results/x.png") == 100_000
