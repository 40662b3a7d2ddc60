"""A real full disk for tests: a tiny tmpfs mounted over a folder, filled and freed at will.

Mounting needs root (CAP_SYS_ADMIN); where it is refused the tests that need it are skipped,
never faked: ENOSPC has to come from a real filesystem to show what the server does with it.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

_FILLER = ".filler"
# Biggest first, so filling is quick; down to one byte, so not a byte is left over.
_CHUNKS = (1 << 20, 1 << 16, 1 << 12, 1)


class SmallDisk:
    """A mounted tmpfs at `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def free_bytes(self) -> int:
        return shutil.disk_usage(self.root).free

    def fill(self, leave: int = 0) -> None:
        """Fill the disk, then free `leave` bytes (a partly written file then really fails
        midway, as on a disk that runs out during a write)."""
        slack = self.root / ".slack"
        if leave:
            slack.write_bytes(bytes(leave))
        with (self.root / _FILLER).open("ab", buffering=0) as filler:
            for size in _CHUNKS:
                chunk = bytes(size)
                while True:
                    try:
                        if not filler.write(chunk):
                            break
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        slack.unlink(missing_ok=True)
        assert self.free_bytes <= leave + 4096, self.free_bytes

    def free(self) -> None:
        (self.root / _FILLER).unlink(missing_ok=True)

    def files(self) -> list[str]:
        """Every file on the disk but the filler, relative to the root."""
        return sorted(
            str(path.relative_to(self.root))
            for path in self.root.rglob("*")
            if path.is_file() and path.name != _FILLER
        )


@contextmanager
def small_disk(root: Path, size: str = "16m") -> Iterator[SmallDisk]:
    """A tmpfs of `size` mounted at `root` for the block; unmounted after, whatever happened."""
    root.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None or os.geteuid() != 0:
        pytest.skip("a real full disk needs root and mount(8) (a tmpfs is mounted)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield SmallDisk(root)
    finally:
        # A file the server still holds open makes a plain umount fail (EBUSY): detach then.
        if subprocess.run(["umount", str(root)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "--lazy", str(root)], capture_output=True, check=False)
