"""One writer for the decision log: group commits, each request answered after its own commit.

Every decision and observation is committed before the service answers (DESIGN.md, "The two
paths of every fetch"). A transaction per request made the commit, and the hop to a worker
thread that ran it, the largest part of the service's CPU per page. Here one thread writes
everything: it takes every write waiting at that moment, runs them in one transaction (one
commit, one fsync where the database syncs), and only then tells each waiting request that its
rows are in. A request never learns of a commit that did not include its rows, so the audit
guarantee is the one of a transaction per request.

Isolation: when the shared transaction fails, it is rolled back and every write of the group is
run again in a transaction of its own, so a bad batch fails alone and the others commit.
A write must therefore be repeatable: it may only touch the database (its values are built
before it is queued, ids included).

Waiters are woken once per event loop per group (``call_soon_threadsafe``), not once each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from optout_service.chain import ChainEntry, Checkpointer
from optout_service.chain import append as append_to_chain
from optout_service.chain import batch as chain_batch

logger = logging.getLogger(__name__)

T = TypeVar("T")

# A transaction stops taking writes once it holds this many rows; the rest wait for the next.
DEFAULT_MAX_GROUP_ROWS = 20_000


class LogWriterClosed(RuntimeError):
    """The writer was closed: the write was not made."""


@dataclass(frozen=True, slots=True)
class Insert:
    """Rows for one prepared INSERT; writes of a group with the same statement share one
    ``executemany``. ``rows`` are values as the driver takes them (see ``PreparedInsert``)."""

    statement: sa.Insert
    rows: Sequence[Mapping[str, Any]]
    # Rows of other statements committed with these, in the same transaction, after them
    # (e.g. rows that refer to ``rows`` by a foreign key).
    also: Sequence[tuple[sa.Insert, Sequence[Mapping[str, Any]]]] = ()
    # The records' chain entries (optout_service.chain), computed in the writer's thread and
    # appended to the chain in the same transaction, after every insert of the group.
    chained: Callable[[], Sequence[ChainEntry]] | None = None

    @property
    def size(self) -> int:
        return len(self.rows) + sum(len(rows) for _, rows in self.also)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """Anything else: a function of the connection, run inside the group's transaction."""

    run: Callable[[sa.Connection], T]


@dataclass(slots=True)
class WriterStats:
    transactions: int = 0  # committed, including the ones that retried a write alone
    writes: int = 0  # writes committed
    isolated: int = 0  # groups that failed and were retried write by write
    failed: int = 0  # writes that failed alone


@dataclass(slots=True)
class _Pending:
    write: Insert | Call[Any]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    rows: int


@dataclass(slots=True)
class _Outcome:
    pending: _Pending
    value: Any = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Group:
    pending: list[_Pending] = field(default_factory=list)
    rows: int = 0


def _settle(outcomes: list[_Outcome]) -> None:
    """On the waiters' loop: hand each its result (a cancelled waiter is simply skipped)."""
    for outcome in outcomes:
        future = outcome.pending.future
        if future.done():
            continue
        if outcome.error is not None:
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome.value)


class LogWriter:
    """The thread that writes the log. ``start()``, then ``await write(...)``, then ``close()``."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        max_group_rows: int = DEFAULT_MAX_GROUP_ROWS,
        on_commit: Callable[[int], None] | None = None,
        checkpoints: Checkpointer | None = None,
    ) -> None:
        self._engine = engine
        # Signs the chain's head now and then, in the transaction that moved it (chain.py).
        self._checkpoints = checkpoints
        self._max_group_rows = max_group_rows
        self._on_commit = on_commit  # called (from the writer thread) with each group's size
        # SimpleQueue: put() from the event loop is one C call that never blocks.
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="optout-log-writer", daemon=True)
        self._closed = False
        self._connection: sa.Connection | None = None
        self.stats = WriterStats()

    def start(self) -> None:
        self._thread.start()

    async def insert(self, write: Insert) -> None:
        """Commit ``write``'s rows; returns once they are committed."""
        await self._submit(write, write.size)

    async def call(self, write: Call[T]) -> T:
        """Run ``write`` in a transaction; returns its result once committed."""
        result: T = await self._submit(write, 1)
        return result

    async def _submit(self, write: Insert | Call[Any], rows: int) -> Any:
        if self._closed:
            raise LogWriterClosed("the decision log writer is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.put(_Pending(write, future, loop, rows))
        return await future

    def close(self, timeout: float | None = None) -> None:
        """Commit what is queued, then stop the thread (blocks until it has ended)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        checkpoints = self._checkpoints
        if checkpoints is not None and checkpoints.pending and not self._thread.is_alive():
            # What was chained since the last checkpoint is signed before the service stops.
            try:
                with self._engine.begin() as connection:
                    checkpoints.write(connection)
            except Exception:
                logger.exception("the closing checkpoint of the log could not be written")

    # the writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        carried: _Pending | None = None
        stopping = False
        try:
            while not stopping:
                first = carried if carried is not None else self._queue.get()
                carried = None
                if first is None:
                    break
                group = _Group([first], first.rows)
                while group.rows < self._max_group_rows:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is None:
                        stopping = True
                        break
                    if group.rows + more.rows > self._max_group_rows:
                        carried = more
                        break
                    group.pending.append(more)
                    group.rows += more.rows
                self._commit_group(group.pending)
            if carried is not None:
                self._commit_group([carried])
        finally:
            self._release_connection()
            self._fail_leftovers()

    def _fail_leftovers(self) -> None:
        # Writes queued after the stop (or left by an unexpected error) are refused, never lost
        # silently: their requests get an error instead of an answer.
        leftovers: list[_Outcome] = []
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                break
            if pending is not None:
                leftovers.append(
                    _Outcome(pending, error=LogWriterClosed("the decision log writer is closed"))
                )
        self._deliver(leftovers)

    def _commit_group(self, group: list[_Pending]) -> None:
        try:
            values = self._transaction([p.write for p in group])
            outcomes = [_Outcome(p, v) for p, v in zip(group, values, strict=True)]
        except Exception as exc:
            if len(group) == 1:
                self.stats.failed += 1
                outcomes = [_Outcome(group[0], error=exc)]
            else:
                logger.warning(
                    "a group of %d log writes failed (%s); retrying each alone",
                    len(group),
                    type(exc).__name__,
                )
                self.stats.isolated += 1
                outcomes = [self._alone(p) for p in group]
        self._deliver(outcomes)

    def _alone(self, pending: _Pending) -> _Outcome:
        try:
            (value,) = self._transaction([pending.write])
        except Exception as exc:
            self.stats.failed += 1
            return _Outcome(pending, error=exc)
        return _Outcome(pending, value)

    def _transaction(self, writes: Sequence[Insert | Call[Any]]) -> list[Any]:
        connection = self._connect()
        try:
            with connection.begin():
                values = _execute(connection, writes, self._checkpoints)
        except Exception:
            # Whatever state the connection is in, the next transaction starts on a fresh one.
            self._release_connection()
            raise
        self.stats.transactions += 1
        self.stats.writes += len(writes)
        if self._on_commit is not None:
            self._on_commit(len(writes))
        return values

    def _connect(self) -> sa.Connection:
        # Held between transactions: a pool checkout (and PostgreSQL's pre-ping round trip)
        # per transaction is saved. Outside a transaction it holds no lock on either database.
        if self._connection is None:
            self._connection = self._engine.connect()
        return self._connection

    def _release_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # a broken connection: the pool discards it
                logger.debug("closing the log writer's connection failed", exc_info=True)

    @staticmethod
    def _deliver(outcomes: list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome.pending.loop, []).append(outcome)
        for loop, settled in by_loop.items():
            # A closed loop raises RuntimeError: nobody waits for these any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, settled)


def _execute(
    connection: sa.Connection,
    writes: Sequence[Insert | Call[Any]],
    checkpoints: Checkpointer | None = None,
) -> list[Any]:
    """Run ``writes`` in the open transaction: the inserts of one statement as one
    ``executemany`` (in the order they were queued), then the calls."""
    merged: dict[sa.Insert, list[Mapping[str, Any]]] = {}
    values: list[Any] = [None] * len(writes)
    calls: list[int] = []
    for index, write in enumerate(writes):
        if isinstance(write, Insert):
            merged.setdefault(write.statement, []).extend(write.rows)
            for statement, rows in write.also:
                merged.setdefault(statement, []).extend(rows)
        else:
            calls.append(index)
    for statement, rows in merged.items():
        if rows:
            connection.execute(statement, rows)
    # Every record of the transaction chained at its end: one read of the chain's last row and
    # one INSERT, whatever the calls add.
    with chain_batch(connection, checkpoints):
        for write in writes:
            if isinstance(write, Insert) and write.chained is not None:
                append_to_chain(connection, write.chained())
        for index in calls:
            call = writes[index]
            assert isinstance(call, Call)
            values[index] = call.run(connection)
    return values
