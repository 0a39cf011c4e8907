"""How many bytes of policy documents are parsed at once, by the memory the parses may peak at.

``robots.parse_concurrency`` bounds the worker threads that parse; it says nothing about what
they hold. A robots.txt is read up to ``robots.max_bytes`` (8 MiB by default), and parsing and
indexing one peaks at up to 32 bytes per byte of input plus 1 MiB (docs/robots.md, "Budgets"):
four files of the largest size at once would peak near 1 GiB. :class:`ParseMemory` admits a
parse only while the peaks of the parses under way, each estimated from its input's size, fit
in ``robots.parse_memory_bytes``. An estimate above the whole budget is cut to it, so the
largest file still runs, alone. Waiters are served in arrival order: a large parse is never
passed over for good by small ones arriving after it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["PEAK_BYTES_PER_BYTE", "PEAK_FIXED_BYTES", "ParseMemory"]

# The tested ceiling of a parse's peak (tests/unit/optout_service/test_robots_budgets.py).
PEAK_BYTES_PER_BYTE = 32
PEAK_FIXED_BYTES = 1024 * 1024


class ParseMemory:
    """A budget in bytes of estimated parse peak; see the module docstring."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError("the parse memory budget must be positive")
        self.capacity = capacity
        self.in_use = 0
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    def cost(self, size: int) -> int:
        """The peak a parse of ``size`` bytes may reach, cut to the whole budget."""
        return min(self.capacity, PEAK_BYTES_PER_BYTE * max(0, size) + PEAK_FIXED_BYTES)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def hold(self, size: int) -> AsyncIterator[None]:
        """Wait until a parse of ``size`` bytes fits, hold its share while the body runs."""
        need = self.cost(size)
        if not self._waiting and self.in_use + need <= self.capacity:
            self.in_use += need
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (need, granted)
            self._waiting.append(entry)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release(need)  # granted just as it was cancelled: give it back
                else:
                    if entry in self._waiting:
                        self._waiting.remove(entry)
                    self._wake()  # the ones behind it may fit now
                raise
        try:
            yield
        finally:
            self._release(need)

    def _release(self, need: int) -> None:
        self.in_use -= need
        self._wake()

    def _wake(self) -> None:
        while self._waiting:
            need, granted = self._waiting[0]
            if granted.cancelled():  # its task was cancelled and has not run since
                self._waiting.popleft()
                continue
            if self.in_use + need > self.capacity:
                return
            self._waiting.popleft()
            self.in_use += need
            granted.set_result(None)
