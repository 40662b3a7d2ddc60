"""Pool processes end with their parent, even one killed with SIGKILL (serving/orphans.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# A parent with one spawned pool process (as the batching worker's stage pool), printing the
# pool process's pid, then idling until killed.
_PARENT = """
import multiprocessing, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from backdrop.serving.orphans import exit_when_orphaned

if __name__ == "__main__":
    options = {{}}
    if {watch}:
        options = dict(initializer=exit_when_orphaned, initargs=(os.getpid(), 0.1))
    pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), **options)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _pool_child_after_parent_killed(tmp_path: Path, watch: bool) -> tuple[int, bool]:
    """Kill -9 the parent; (the pool process's pid, whether it is gone 5 s later)."""
    script = tmp_path / "parent.py"
    script.write_text(_PARENT.format(watch=watch))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    assert _alive(child)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    return child, not _alive(child)


def test_a_pool_process_ends_when_its_parent_is_killed(tmp_path: Path) -> None:
    _, gone = _pool_child_after_parent_killed(tmp_path, watch=True)
    assert gone


def test_without_the_watch_it_would_outlive_its_parent(tmp_path: Path) -> None:
    """Why the watch exists: the pool process holds its queue's writing end, so no EOF."""
    child, gone = _pool_child_after_parent_killed(tmp_path, watch=False)
    try:
        assert not gone
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
