"""The decision log's reads and writes.

Writes go through :class:`DecisionLog`, which queues them to the log writer
(:mod:`optout_service.log_writer`): one thread, group commits. Reads are synchronous; the API
runs them in a worker thread. The decision log is append-only: this module inserts decisions and
observations and never updates or deletes them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from optout_service.chain import (
    ChainEntry,
    decision_record,
    digest_of,
    fetch_record,
    observation_record,
)
from optout_service.chain import append as append_to_chain
from optout_service.log_writer import Call, Insert, LogWriter
from optout_service.models import (
    Decision,
    DecisionDocument,
    Observation,
    PolicyDocument,
    PolicyFetch,
)


@dataclass(frozen=True, slots=True)
class PolicyFetchRecord:
    kind: str
    origin: str
    url: str
    final_url: str | None
    status: int | None
    outcome: str
    error: str | None
    truncated: bool
    body: bytes | None  # None: nothing to store (no 2xx body)
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFetch:
    id: int
    sha256: str | None


class DecisionEntry(NamedTuple):
    """One decision of a batch; what the batch shares is given once (DecisionLog)."""

    id: str
    url: str
    host: str
    decision: str
    reasons: tuple[str, ...]
    crawl_delay: float | None
    robots_fetch_id: int | None
    fetch_ids: tuple[int, ...] = ()  # every policy document the decision read
    licenses: tuple[str, ...] = ()


class ObservationEntry(NamedTuple):
    id: str
    decision_id: str
    job: str
    url: str
    host: str
    final_url: str
    status: int
    content_type: str | None
    length: int
    sha256: str
    outcome: str
    reasons: tuple[str, ...]
    headers: Sequence[tuple[str, str]]
    extract: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DecisionRef:
    id: str
    job: str
    url: str
    host: str
    crawler: str
    api_key: str
    decision: str
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportFilter:
    job: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    domain: str | None = None  # the host or any of its subdomains, matched literally
    api_key: str | None = None  # only the records of this key (None: every key's)


def new_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as strings, from one read of the system's random
    source: ``str(uuid.uuid4())`` reads it once per id and costs about five times as much."""
    digits = os.urandom(16 * count).hex()
    ids: list[str] = []
    for start in range(0, 32 * count, 32):
        h = digits[start : start + 32]
        # Version nibble 4; variant bits 10 (RFC 9562 4.1): 8, 9, a or b.
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}")
    return ids


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class RecentDecisions:
    """The decisions this process issued lately, so an observation rarely needs a query.

    Only a cache: a miss (another replica decided, or the entry was evicted) reads the table.
    Bounded in bytes (``max_bytes``, each entry counted by :func:`_ref_bytes`), oldest out
    first: an observation follows its decision within seconds, and a budget counted in entries
    let long URLs take ~370 bytes each, 35 MiB for the 100,000 it used to keep.
    """

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._refs: OrderedDict[str, DecisionRef] = OrderedDict()
        self.bytes = 0

    def add(self, refs: Iterable[DecisionRef]) -> None:
        for ref in refs:
            previous = self._refs.pop(ref.id, None)
            if previous is not None:
                self.bytes -= _ref_bytes(previous)
            self._refs[ref.id] = ref
            self.bytes += _ref_bytes(ref)
        while self.bytes > self._max_bytes and self._refs:
            _, oldest = self._refs.popitem(last=False)
            self.bytes -= _ref_bytes(oldest)

    def __len__(self) -> int:
        return len(self._refs)

    def get(self, decision_id: str) -> DecisionRef | None:
        return self._refs.get(decision_id)


# An entry's fixed cost: the OrderedDict node and slot, the tuple, the id string (the job,
# crawler and key strings are shared by a batch's entries).
_REF_OVERHEAD = 300


def _ref_bytes(ref: DecisionRef) -> int:
    return _REF_OVERHEAD + len(ref.url) + len(ref.host)


def _insert_of(table: sa.Table) -> tuple[sa.Insert, tuple[str, ...]]:
    """An INSERT of every column but the database-assigned ``seq``, on a table without types:
    values are bound as they are given, so each is converted for the driver once (by
    DecisionLog), not once per row by SQLAlchemy's type processors."""
    names = tuple(c.name for c in table.columns if c.name != "seq")
    return sa.table(table.name, *(sa.column(name) for name in names)).insert(), names


_DECISION_INSERT, _DECISION_COLUMNS = _insert_of(cast(sa.Table, Decision.__table__))
_OBSERVATION_INSERT, _OBSERVATION_COLUMNS = _insert_of(cast(sa.Table, Observation.__table__))
_LINK_INSERT, _LINK_COLUMNS = _insert_of(cast(sa.Table, DecisionDocument.__table__))


def _identity(value: Any) -> Any:
    return value


def _json(value: Any) -> str:
    # What sa.JSON binds on both databases: json.dumps with its defaults (a str on PostgreSQL
    # goes as an untyped literal, which the server reads as json).
    return json.dumps(value)


class DecisionLog:
    """Writes decisions, observations and policy fetches through the log writer.

    Values are converted for the database once per batch where the batch shares them (the
    time, on SQLite the text SQLAlchemy stores for it) and once per distinct list of reasons
    (their JSON), the other columns are bound as they are (str, int, float, None: both drivers
    take them as such).
    """

    def __init__(self, writer: LogWriter, dialect: sa.Dialect) -> None:
        self._writer = writer
        time_type = sa.DateTime(timezone=True).dialect_impl(dialect)
        self._time: Callable[[datetime], Any] = time_type.bind_processor(dialect) or _identity
        self._reasons: dict[tuple[str, ...], str] = {}

    def _reasons_json(self, reasons: tuple[str, ...]) -> str:
        encoded = self._reasons.get(reasons)
        if encoded is None:
            if len(self._reasons) >= 4096:  # codes are few, but combinations are not bounded
                self._reasons.clear()
            encoded = self._reasons[reasons] = _json(list(reasons))
        return encoded

    async def add_decisions(
        self,
        entries: Sequence[DecisionEntry],
        *,
        job: str,
        api_key: str,
        crawler: str,
        created_at: datetime,
        purposes: Sequence[str] = (),
    ) -> None:
        """Commit ``entries`` and their links to the documents they read; returns once they
        are committed."""
        created = self._time(created_at)
        reasons = self._reasons_json
        purposes_json = _json(list(purposes)) if purposes else None
        no_licenses = None
        rows = [
            {
                "id": e.id,
                "created_at": created,
                "job": job,
                "api_key": api_key,
                "crawler": crawler,
                "url": e.url,
                "host": e.host,
                "decision": e.decision,
                "reasons": reasons(e.reasons),
                "crawl_delay": e.crawl_delay,
                "robots_fetch_id": e.robots_fetch_id,
                "purposes": purposes_json,
                "licenses": _json(list(e.licenses)) if e.licenses else no_licenses,
            }
            for e in entries
        ]
        links = [
            {"decision_id": e.id, "fetch_id": fetch_id} for e in entries for fetch_id in e.fetch_ids
        ]
        also = ((_LINK_INSERT, links),) if links else ()

        def chained() -> list[ChainEntry]:
            return [
                (
                    "decision",
                    e.id,
                    digest_of(
                        decision_record(
                            id=e.id,
                            time=created_at,
                            job=job,
                            api_key=api_key,
                            crawler=crawler,
                            url=e.url,
                            host=e.host,
                            decision=e.decision,
                            reasons=e.reasons,
                            crawl_delay=e.crawl_delay,
                            robots_fetch_id=e.robots_fetch_id,
                            purposes=purposes,
                            licenses=e.licenses,
                            documents=e.fetch_ids,
                        )
                    ),
                )
                for e in entries
            ]

        await self._writer.insert(Insert(_DECISION_INSERT, rows, also, chained))

    async def add_observations(
        self, entries: Sequence[ObservationEntry], *, api_key: str, created_at: datetime
    ) -> None:
        """Commit ``entries``; returns once they are committed."""
        created = self._time(created_at)
        reasons = self._reasons_json
        rows = [
            {
                "id": e.id,
                "decision_id": e.decision_id,
                "created_at": created,
                "job": e.job,
                "api_key": api_key,
                "url": e.url,
                "host": e.host,
                "final_url": e.final_url,
                "status": e.status,
                "content_type": e.content_type,
                "length": e.length,
                "sha256": e.sha256,
                "outcome": e.outcome,
                "reasons": reasons(e.reasons),
                "headers": _json([[name, value] for name, value in e.headers]),
                "extract": _json(dict(e.extract)) if e.extract is not None else None,
            }
            for e in entries
        ]

        def chained() -> list[ChainEntry]:
            return [
                (
                    "observation",
                    e.id,
                    digest_of(
                        observation_record(
                            id=e.id,
                            decision_id=e.decision_id,
                            time=created_at,
                            job=e.job,
                            api_key=api_key,
                            url=e.url,
                            host=e.host,
                            final_url=e.final_url,
                            status=e.status,
                            content_type=e.content_type,
                            length=e.length,
                            sha256=e.sha256,
                            outcome=e.outcome,
                            reasons=e.reasons,
                            headers=e.headers,
                            extract=e.extract,
                        )
                    ),
                )
                for e in entries
            ]

        await self._writer.insert(Insert(_OBSERVATION_INSERT, rows, chained=chained))

    async def store_policy_fetch(self, record: PolicyFetchRecord) -> StoredFetch:
        """Record one fetch; its body is stored once per distinct sha256."""
        return await self._writer.call(Call(lambda connection: _store_fetch(connection, record)))


_FETCHES = cast(sa.Table, PolicyFetch.__table__)
_DOCUMENTS = cast(sa.Table, PolicyDocument.__table__)
# Built once: a statement built per call (ORM entity, .values()) cost ~0.7 ms of SQLAlchemy
# coercion and cache-key work per robots.txt fetch, more than the database's own work.
_FIND_DOCUMENT = sa.select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.sha256 == sa.bindparam("sha256"))
_INSERT_FETCH = sa.insert(_FETCHES).returning(_FETCHES.c.id)
_INSERT_DOCUMENT = {
    # ON CONFLICT DO NOTHING rather than catching the unique violation: on PostgreSQL a failed
    # statement aborts the whole transaction, which holds other requests' writes too.
    dialect: insert(_DOCUMENTS)
    .on_conflict_do_nothing(index_elements=[_DOCUMENTS.c.sha256])
    .returning(_DOCUMENTS.c.id)
    for dialect, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))
}


def _store_fetch(connection: sa.Connection, record: PolicyFetchRecord) -> StoredFetch:
    document_id: int | None = None
    digest: str | None = None
    if record.body is not None:
        digest = hashlib.sha256(record.body).hexdigest()
        document_id = connection.scalar(_FIND_DOCUMENT, {"sha256": digest})
        if document_id is None:
            document_id = _insert_document(connection, record, digest)
    fetch_id: int = connection.execute(
        _INSERT_FETCH,
        {
            "kind": record.kind,
            "origin": record.origin,
            "url": record.url,
            "final_url": record.final_url,
            "status": record.status,
            "outcome": record.outcome,
            "error": record.error,
            "truncated": record.truncated,
            "document_id": document_id,
            "fetched_at": record.fetched_at,
        },
    ).scalar_one()
    record_digest = digest_of(
        fetch_record(
            id=fetch_id,
            kind=record.kind,
            origin=record.origin,
            url=record.url,
            final_url=record.final_url,
            status=record.status,
            outcome=record.outcome,
            error=record.error,
            truncated=record.truncated,
            document_sha256=digest,
            fetched_at=record.fetched_at,
        )
    )
    append_to_chain(connection, [("fetch", str(fetch_id), record_digest)])
    return StoredFetch(id=fetch_id, sha256=digest)


def _insert_document(connection: sa.Connection, record: PolicyFetchRecord, digest: str) -> int:
    """Insert a document, or find the one another process stored meanwhile."""
    assert record.body is not None
    statement = _INSERT_DOCUMENT.get(connection.dialect.name)
    if statement is None:
        raise NotImplementedError(
            f"the decision log supports SQLite and PostgreSQL, not {connection.dialect.name}"
        )
    inserted = connection.scalar(
        statement,
        {
            "kind": record.kind,
            "sha256": digest,
            "size": len(record.body),
            "content": record.body,
            "first_seen_at": record.fetched_at,
        },
    )
    if inserted is not None:
        return int(inserted)
    existing = connection.scalar(_FIND_DOCUMENT, {"sha256": digest})
    if existing is None:  # pragma: no cover - a conflict means the row exists
        raise RuntimeError(f"policy document {digest} neither inserted nor found")
    return int(existing)


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _utc(value: datetime) -> datetime:
    """A bound for comparisons in UTC: SQLite compares stored text, so an offset given by the
    caller (``+05:00``) must be turned into UTC first. A naive value is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Repository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def find_decisions(self, ids: Sequence[str]) -> dict[str, DecisionRef]:
        found: dict[str, DecisionRef] = {}
        unique = list(dict.fromkeys(ids))
        with self._sessions() as session:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                result = session.execute(
                    sa.select(
                        Decision.id,
                        Decision.job,
                        Decision.url,
                        Decision.host,
                        Decision.crawler,
                        Decision.api_key,
                        Decision.decision,
                        Decision.purposes,
                    ).where(Decision.id.in_(chunk))
                )
                for row in result:
                    found[row.id] = DecisionRef(
                        row.id,
                        row.job,
                        row.url,
                        row.host,
                        row.crawler,
                        row.api_key,
                        row.decision,
                        tuple(row.purposes or ()),
                    )
        return found

    # export -----------------------------------------------------------------------------
    def iter_export(self, flt: ExportFilter, batch: int = 1000) -> Iterator[dict[str, Any]]:
        """Decisions and observations merged in time order, streamed in constant memory."""
        decisions = self._iter_table(Decision, flt, batch)
        observations = self._iter_table(Observation, flt, batch)
        pending_d = next(decisions, None)
        pending_o = next(observations, None)
        while pending_d is not None or pending_o is not None:
            if pending_o is None or (
                pending_d is not None and pending_d["time"] <= pending_o["time"]
            ):
                assert pending_d is not None
                yield pending_d
                pending_d = next(decisions, None)
            else:
                yield pending_o
                pending_o = next(observations, None)

    def _iter_table(
        self, table: type[Decision] | type[Observation], flt: ExportFilter, batch: int
    ) -> Iterator[dict[str, Any]]:
        last_seq = 0
        while True:
            with self._sessions() as session:
                stmt = sa.select(table).where(table.seq > last_seq)
                if flt.job is not None:
                    stmt = stmt.where(table.job == flt.job)
                if flt.api_key is not None:
                    stmt = stmt.where(table.api_key == flt.api_key)
                if flt.since is not None:
                    stmt = stmt.where(table.created_at >= _utc(flt.since))
                if flt.until is not None:
                    stmt = stmt.where(table.created_at < _utc(flt.until))
                if flt.domain is not None:
                    # autoescape: '%' and '_' in the filter are characters, not LIKE wildcards.
                    stmt = stmt.where(
                        sa.or_(
                            table.host == flt.domain,
                            table.host.endswith("." + flt.domain, autoescape=True),
                        )
                    )
                rows = cast(
                    list[Decision | Observation],
                    session.scalars(stmt.order_by(table.seq).limit(batch)).all(),
                )
            if not rows:
                return
            for row in rows:
                yield _export_record(row)
            last_seq = rows[-1].seq


def _export_record(row: Decision | Observation) -> dict[str, Any]:
    if isinstance(row, Decision):
        return {
            "type": "decision",
            "id": row.id,
            "time": _aware(row.created_at).isoformat(),
            "job": row.job,
            "api_key": row.api_key,
            "crawler": row.crawler,
            "url": row.url,
            "host": row.host,
            "decision": row.decision,
            "reasons": list(row.reasons),
            "crawl_delay": row.crawl_delay,
            "robots_fetch_id": row.robots_fetch_id,
            "purposes": list(row.purposes) if row.purposes is not None else None,
            "licenses": list(row.licenses or ()),
        }
    return {
        "type": "observation",
        "id": row.id,
        "decision_id": row.decision_id,
        "time": _aware(row.created_at).isoformat(),
        "job": row.job,
        "api_key": row.api_key,
        "url": row.url,
        "host": row.host,
        "final_url": row.final_url,
        "status": row.status,
        "content_type": row.content_type,
        "length": row.length,
        "sha256": row.sha256,
        "outcome": row.outcome,
        "reasons": list(row.reasons),
    }
