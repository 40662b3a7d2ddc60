"""Giving freed memory back to the operating system after a large piece of work.

glibc's malloc keeps freed memory in its arenas for reuse; a worker thread's arena keeps
the pages of a 40 MP order's temporaries (hundreds of MB) mapped after the order is done,
and each thread that ran an order holds its own. `malloc_trim(0)` returns the free pages of
every arena. Elsewhere (musl, macOS) there is nothing to call and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    function: Callable[[int], int] = trim
    return function


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; True if glibc did anything to try."""
    trim = _malloc_trim()
    if trim is None:
        return False
    try:
        trim(0)
    except Exception:  # never worth failing an order over
        log.exception("malloc_trim failed")
        return False
    return True
