"""The decision log's writer: concurrent batches share one commit, each caller is answered only
after its own rows are committed, and a bad batch fails alone. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from optout_service.config import DatabaseSettings
from optout_service.db import Database, upgrade_to_head
from optout_service.log_writer import Call, LogWriter, LogWriterClosed
from optout_service.models import Decision, PolicyDocument, PolicyFetch
from optout_service.reasons import Reason
from optout_service.repository import DecisionEntry, DecisionLog, PolicyFetchRecord, new_ids


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    if database_url.startswith("sqlite"):
        upgrade_to_head(database_url)  # the PostgreSQL scratch database is migrated already
    db = Database(DatabaseSettings(url=database_url))
    try:
        yield db
    finally:
        db.dispose()


@pytest.fixture
def writer(database: Database) -> Iterator[LogWriter]:
    writer = LogWriter(database.engine)
    writer.start()
    try:
        yield writer
    finally:
        writer.close(timeout=30)


def entries(count: int, *, host: str = "a.example") -> list[DecisionEntry]:
    return [
        DecisionEntry(
            id_, f"http://{host}/{n}", host, "allow", (Reason.ROBOTS_ALLOWED,), None, None
        )
        for n, id_ in enumerate(new_ids(count))
    ]


async def add(log: DecisionLog, batch: list[DecisionEntry], job: str = "job") -> None:
    await log.add_decisions(
        batch, job=job, api_key="crawler", crawler="ExampleBot", created_at=datetime.now(UTC)
    )


def logged_ids(database: Database) -> set[str]:
    with database.engine.connect() as connection:
        return set(connection.scalars(sa.select(Decision.id)))


class Gate:
    """A write that holds the writer's thread until released, so that others queue behind it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def run(self, _connection: sa.Connection) -> None:
        self.entered.set()
        assert self.release.wait(30)


async def hold(writer: LogWriter, gate: Gate) -> asyncio.Task[None]:
    task = asyncio.create_task(writer.call(Call(gate.run)))
    assert await asyncio.to_thread(gate.entered.wait, 30)
    return task


async def test_concurrent_batches_share_one_commit(writer: LogWriter, database: Database) -> None:
    log = DecisionLog(writer, database.engine.dialect)
    gate = Gate()
    held = await hold(writer, gate)
    batches = [entries(16, host=f"h{n}.example") for n in range(10)]
    pending = [asyncio.create_task(add(log, batch)) for batch in batches]
    await asyncio.sleep(0.05)
    # Queued behind the gate: nothing is committed, so no caller has been answered.
    assert not any(task.done() for task in pending)
    assert logged_ids(database) == set()
    gate.release.set()
    await asyncio.gather(held, *pending)
    assert writer.stats.transactions == 2  # the gate's, then all ten batches together
    assert writer.stats.writes == 11
    assert logged_ids(database) == {e.id for batch in batches for e in batch}


async def test_a_failing_batch_fails_alone(writer: LogWriter, database: Database) -> None:
    log = DecisionLog(writer, database.engine.dialect)
    gate = Gate()
    held = await hold(writer, gate)
    good = [entries(8, host=f"g{n}.example") for n in range(4)]
    bad = entries(2, host="bad.example")
    bad[1] = bad[1]._replace(id=bad[0].id)  # a duplicate id: the unique index refuses it
    tasks = [asyncio.create_task(add(log, batch)) for batch in (good[0], good[1], bad)]
    tasks += [asyncio.create_task(add(log, batch)) for batch in good[2:]]
    await asyncio.sleep(0.05)
    gate.release.set()
    await held
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert [type(r) for r in results] == [type(None)] * 2 + [IntegrityError] + [type(None)] * 2
    assert writer.stats.isolated == 1
    assert writer.stats.failed == 1
    assert logged_ids(database) == {e.id for batch in good for e in batch}
    # The writer goes on: the next batch commits as usual.
    after = entries(3, host="after.example")
    await add(log, after)
    assert {e.id for e in after} <= logged_ids(database)


async def test_policy_fetches_in_one_group_store_their_document_once(
    writer: LogWriter, database: Database
) -> None:
    log = DecisionLog(writer, database.engine.dialect)
    body = b"User-agent: *\nDisallow: /x\n"

    def record(origin: str) -> PolicyFetchRecord:
        return PolicyFetchRecord(
            kind="robots_txt",
            origin=origin,
            url=origin + "/robots.txt",
            final_url=None,
            status=200,
            outcome="ok",
            error=None,
            truncated=False,
            body=body,
            fetched_at=datetime.now(UTC),
        )

    gate = Gate()
    held = await hold(writer, gate)
    tasks = [
        asyncio.create_task(log.store_policy_fetch(record(f"http://o{n}.example")))
        for n in range(5)
    ]
    await asyncio.sleep(0.05)
    gate.release.set()
    await held
    stored = await asyncio.gather(*tasks)
    assert writer.stats.transactions == 2
    assert len({s.id for s in stored}) == 5
    assert {s.sha256 for s in stored} == {stored[0].sha256}
    again = await log.store_policy_fetch(record("http://later.example"))  # a group of its own
    assert again.sha256 == stored[0].sha256
    with database.engine.connect() as connection:
        assert connection.scalar(sa.select(sa.func.count()).select_from(PolicyDocument)) == 1
        fetches = connection.scalar(sa.select(sa.func.count()).select_from(PolicyFetch))
        assert fetches == 6


async def test_close_commits_what_is_queued_and_refuses_what_comes_after(
    writer: LogWriter, database: Database
) -> None:
    log = DecisionLog(writer, database.engine.dialect)
    gate = Gate()
    held = await hold(writer, gate)
    queued = entries(5)
    task = asyncio.create_task(add(log, queued))
    await asyncio.sleep(0.05)
    closing = asyncio.create_task(asyncio.to_thread(writer.close, 30))
    await asyncio.sleep(0.05)
    gate.release.set()
    await asyncio.gather(held, task, closing)
    assert {e.id for e in queued} <= logged_ids(database)
    with pytest.raises(LogWriterClosed):
        await add(log, entries(1))


async def test_a_cancelled_caller_does_not_disturb_the_others(
    writer: LogWriter, database: Database
) -> None:
    log = DecisionLog(writer, database.engine.dialect)
    gate = Gate()
    held = await hold(writer, gate)
    first, second = entries(2, host="one.example"), entries(2, host="two.example")
    cancelled = asyncio.create_task(add(log, first))
    kept = asyncio.create_task(add(log, second))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    gate.release.set()
    await asyncio.gather(held, kept)
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    # Queued before its caller left, so written: never answered, but never half-written either.
    assert {e.id for e in first + second} <= logged_ids(database)


def test_new_ids_are_distinct_version_4_uuids() -> None:
    import uuid

    ids = new_ids(1000)
    assert len(set(ids)) == 1000
    for value in ids:
        parsed = uuid.UUID(value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == value
