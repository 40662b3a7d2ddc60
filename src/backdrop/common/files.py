"""Atomic file writes: readers see the old file or the whole new one, never a half."""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from pathlib import Path


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, so the brief window in which the
    # process umask is 0 is not reopened on every write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode `open()` would give a new file: 0666 less the umask (0644 with the usual 022)."""
    return 0o666 & ~_umask()


def write_atomically(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file, with the mode a plain write gives."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        # mkstemp makes the file 0600; outputs are meant to be read like any other file.
        os.fchmod(fd, new_file_mode())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
