"""Decoding in child processes: a bounded number at a time, each under a time limit.

The container inspection (inspect.py) refuses the shapes known to make decoders slow, but a
decoder's cost is not bounded by the file size in general. A decode here runs in its own
process: it never holds the API process's GIL or a thread of the pool that answers requests,
at most `workers` run at once, and one that outlives its budget is killed (a thread cannot be
stopped) and reported as an unreadable image.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any, TypeVar

from backdrop.errors import BackdropError, CorruptImage

log = logging.getLogger(__name__)

T = TypeVar("T")

# Imported once by the fork server, so that each child starts with the decoders ready.
_PRELOAD = ["backdrop.imaging.decode"]


def _context() -> BaseContext:
    """A fork server where there is one: children fork from a small, single-threaded process
    (forking the API process itself would copy its threads' locks); spawn elsewhere."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class DecodePool:
    """Runs picklable functions of untrusted images in child processes, bounded and timed."""

    def __init__(self, workers: int, seconds: float) -> None:
        self.seconds = seconds
        # Sync callers (order workers) take a slot; async callers queue in the executor
        # first, so a waiting decode never holds a thread of the default pool.
        self._slots = threading.BoundedSemaphore(workers)
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="decode")
        self._context = _context()

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`function(*args, **kwargs)` in a child process; blocks while `workers` are busy."""
        call = functools.partial(function, *args, **kwargs)
        with self._slots:
            return _run_in_child(self._context, self.seconds, call)

    async def run_async(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`run` from the event loop, on this pool's own threads."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self.run, function, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _run_in_child(context: BaseContext, seconds: float, call: Callable[[], T]) -> T:
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, call), daemon=True)  # type: ignore[attr-defined]
    process.start()
    sender.close()  # the child holds the only writer: its death ends the pipe
    try:
        if not receiver.poll(seconds):
            raise CorruptImage(
                f"the image could not be decoded within {seconds:g} seconds; "
                "send a simpler or smaller image"
            )
        succeeded, value = receiver.recv()
    except EOFError:
        # Killed from outside (out of memory) or crashed inside a decoder library.
        raise CorruptImage("the image could not be decoded (the decoder stopped)") from None
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join()
    if succeeded:
        return value  # type: ignore[no-any-return]
    raise value


def _child(sender: Connection, call: Callable[[], object]) -> None:
    """In the child: run the call, send back (True, result) or (False, a domain error)."""
    try:
        outcome: tuple[bool, object] = (True, call())
    except BackdropError as error:
        outcome = (False, error)
    except BaseException as error:
        log.exception("decoding failed unexpectedly")
        outcome = (False, CorruptImage(f"the image could not be decoded: {type(error).__name__}"))
    sender.send(outcome)
    sender.close()
