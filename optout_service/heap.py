"""Giving freed memory back to the system, so that a long-running service's RSS follows what it
actually holds.

glibc keeps what the process frees in its arenas for reuse and returns little of it on its own.
The service allocates and frees many buffers of every size (robots.txt bodies of up to 512 KiB,
parsed files, JSON bodies), and the memory held free inside glibc kept growing long after
everything the service keeps had reached its bounds: from 69 to 88 MiB between 50,000 and
100,000 origins (``benchmarks/service_memory.py``). ``malloc_trim(0)`` returns the free pages,
wherever they lie in the heap (glibc 2.8 and later). Elsewhere (musl, macOS) there is nothing
to call and nothing is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from collections.abc import Callable

from anyio import to_thread

logger = logging.getLogger(__name__)


def malloc_trim() -> Callable[[], int] | None:
    """glibc's ``malloc_trim(0)`` as a function, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return lambda: int(trim(0))


async def trim_periodically(interval: float, trim: Callable[[], int] | None = None) -> None:
    """Every ``interval`` seconds, give free memory back (in a worker thread: a trim walks the
    heap under glibc's lock, a few milliseconds). Runs until cancelled."""
    trim = trim if trim is not None else malloc_trim()
    if trim is None:
        logger.debug("no malloc_trim in this C library: freed memory stays with the allocator")
        return
    while True:
        await asyncio.sleep(interval)
        await to_thread.run_sync(trim)
