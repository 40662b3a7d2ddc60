"""Child processes that end with their parent, even when the parent is killed with SIGKILL.

A `ProcessPoolExecutor`'s workers wait on a queue whose pipe they also hold the writing end
of, so a parent killed with SIGKILL never gives them end-of-file: on a bare host (no
container to tear down) they would wait forever, holding memory. Each child therefore
watches its parent's pid and exits once it has been re-parented. Polling `getppid` works on
every POSIX system (Linux's PR_SET_PDEATHSIG would not on macOS).
"""

from __future__ import annotations

import os
import threading
import time

CHECK_SECONDS = 1.0


def exit_when_orphaned(parent: int, interval: float = CHECK_SECONDS) -> None:
    """Start a daemon thread that ends this process once `parent` is no longer its parent.

    For `ProcessPoolExecutor(initializer=exit_when_orphaned, initargs=(os.getpid(),))`.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)  # no cleanup to run: the parent that owned the work is gone

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
