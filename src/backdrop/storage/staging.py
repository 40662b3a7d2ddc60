"""Staged receive: an upload streamed into a temporary file before it is checked and kept.

Both stores stage the same way; only where the checked file goes differs (a rename on disk,
one PUT into the bucket).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from backdrop.common.files import new_file_mode
from backdrop.errors import PayloadTooLarge, UploadSizeMismatch

# Temporary upload files start so: the local store's orphan sweep finds them by the dot.
STAGED_PREFIX = ".upload-"


async def stage(chunks: AsyncIterator[bytes], size: int, folder: Path) -> Path:
    """Stream an upload of exactly `size` bytes into a temporary file in `folder`.

    Reading stops one byte past `size`, so a client cannot make us buffer more than it
    declared. The caller verifies the file and then commits or discards it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=STAGED_PREFIX)
    os.fchmod(fd, new_file_mode())  # like every other stored file, not mkstemp's 0600
    received = 0
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in chunks:
                received += len(chunk)
                if received > size:
                    raise PayloadTooLarge(
                        f"the body is larger than the declared size of {size} bytes"
                    )
                f.write(chunk)
        if received != size:
            raise UploadSizeMismatch(
                f"the body has {received} bytes; the upload URL was signed for {size}"
            )
    except BaseException:
        discard(Path(tmp))
        raise
    return Path(tmp)


def discard(staged: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
