"""Readiness's disk check: can the folders this node writes to take a write right now?

A full disk makes every upload and every order fail, while the process itself is fine; a
load balancer should send clients elsewhere (and an operator be told) rather than have them
meet 507s. Reading free space (statvfs) misses quotas, read-only remounts and permissions,
so the check is a real write, kept small and done at most once per `interval`.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

log = logging.getLogger(__name__)

# Enough to need several blocks (a nearly full disk fails it) and still cheap every few seconds.
PROBE_BYTES = 64 * 1024
# Health checks come every second or so from each balancer; one write per this many seconds.
PROBE_SECONDS = 5.0
# Starts like the stores' temporary files (".name-..."), so the local store's orphan sweep
# removes one left by a crash between the write and the unlink.
_PROBE_PREFIX = ".probe-"
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


class WriteProbe:
    """Writes and deletes a small file in each folder; the answer is cached for `interval`."""

    def __init__(
        self,
        folders: Mapping[str, Path],
        interval: float = PROBE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # What each folder is to an operator ("data directory") -> where it is. Two names for
        # one folder are probed once.
        unique: dict[Path, str] = {}
        for name, folder in folders.items():
            unique.setdefault(folder.resolve(), name)
        self._folders = [(name, folder) for folder, name in unique.items()]
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at: float | None = None
        self._problem: str | None = None

    def problem(self) -> str | None:
        """Why a write would fail now, in words; None when all folders took the probe."""
        # Under the lock: concurrent health checks wait for one probe instead of each writing.
        with self._lock:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self.interval:
                problem = self._probe()
                if problem is None and self._problem is not None:
                    log.info("readiness: storage is writable again")
                self._problem = problem
                self._checked_at = now
            return self._problem

    def _probe(self) -> str | None:
        for name, folder in self._folders:
            try:
                _write_and_delete(folder)
            except OSError as error:
                # The operator's log names the path, once per outage; the public answer does not.
                if self._problem is None:
                    log.warning("readiness: cannot write to the %s %s: %s", name, folder, error)
                if error.errno in _FULL:
                    return f"the {name} is full; writes fail until space is freed"
                return f"the {name} cannot be written ({error.strerror or error})"
        return None


def _write_and_delete(folder: Path) -> None:
    fd, name = tempfile.mkstemp(dir=folder, prefix=_PROBE_PREFIX)
    try:
        # Buffered writing retries short writes, so a disk with less than PROBE_BYTES free
        # raises ENOSPC instead of passing with a partial write. No fsync: the space is
        # reserved at write time on local filesystems, and syncing would make the check slow
        # on a busy disk.
        with os.fdopen(fd, "wb") as file:
            file.write(bytes(PROBE_BYTES))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
