"""All database reads and writes. Synchronous: the API runs them in a worker thread.

The decision log is append-only: this module inserts decisions and observations and never
updates or deletes them.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from optout_service.models import Decision, Observation, PolicyDocument, PolicyFetch


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


@dataclass(frozen=True, slots=True)
class DecisionRow:
    id: str
    job: str
    api_key: str
    crawler: str
    url: str
    host: str
    decision: str
    reasons: list[str]
    crawl_delay: float | None
    robots_fetch_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ObservationRow:
    id: str
    decision_id: str
    job: str
    api_key: str
    url: str
    host: str
    final_url: str
    status: int
    content_type: str | None
    length: int
    sha256: str
    outcome: Literal["keep", "discard"]
    reasons: list[str]
    headers: list[list[str]]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DecisionRef:
    id: str
    job: str
    url: str
    host: str
    crawler: str
    api_key: str
    decision: str


@dataclass(frozen=True, slots=True)
class ExportFilter:
    job: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    domain: str | None = None  # the host or any of its subdomains, matched literally
    api_key: str | None = None  # only the records of this key (None: every key's)


class RecentDecisions:
    """The decisions this process issued lately, so an observation rarely needs a query.

    Only a cache: a miss (another replica decided, or the entry was evicted) reads the table.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._refs: OrderedDict[str, DecisionRef] = OrderedDict()

    def add(self, refs: Sequence[DecisionRef]) -> None:
        for ref in refs:
            self._refs[ref.id] = ref
        while len(self._refs) > self._capacity:
            self._refs.popitem(last=False)

    def get(self, decision_id: str) -> DecisionRef | None:
        return self._refs.get(decision_id)


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

    # policy documents -------------------------------------------------------------------
    def store_policy_fetch(self, record: PolicyFetchRecord) -> StoredFetch:
        """Record one fetch; its body is stored once per distinct sha256."""
        with self._sessions.begin() as session:
            document_id: int | None = None
            digest: str | None = None
            if record.body is not None:
                digest = hashlib.sha256(record.body).hexdigest()
                document_id = session.scalar(
                    sa.select(PolicyDocument.id).where(PolicyDocument.sha256 == digest)
                )
                if document_id is None:
                    document_id = self._insert_document(session, record, digest)
            fetch = PolicyFetch(
                kind=record.kind,
                origin=record.origin,
                url=record.url,
                final_url=record.final_url,
                status=record.status,
                outcome=record.outcome,
                error=record.error,
                truncated=record.truncated,
                document_id=document_id,
                fetched_at=record.fetched_at,
            )
            session.add(fetch)
            session.flush()
            return StoredFetch(id=fetch.id, sha256=digest)

    @staticmethod
    def _insert_document(session: Session, record: PolicyFetchRecord, digest: str) -> int:
        """Insert a document, or find the one a concurrent request stored meanwhile."""
        assert record.body is not None
        try:
            with session.begin_nested():
                document = PolicyDocument(
                    kind=record.kind,
                    sha256=digest,
                    size=len(record.body),
                    content=record.body,
                    first_seen_at=record.fetched_at,
                )
                session.add(document)
            return document.id
        except IntegrityError:
            existing = session.scalar(
                sa.select(PolicyDocument.id).where(PolicyDocument.sha256 == digest)
            )
            if existing is None:
                raise
            return existing

    # the decision log -------------------------------------------------------------------
    def insert_decisions(self, rows: Sequence[DecisionRow]) -> None:
        with self._sessions.begin() as session:
            session.execute(sa.insert(Decision), [asdict(r) for r in rows])

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
                    ).where(Decision.id.in_(chunk))
                )
                for row in result:
                    found[row.id] = DecisionRef(
                        row.id, row.job, row.url, row.host, row.crawler, row.api_key, row.decision
                    )
        return found

    def insert_observations(self, rows: Sequence[ObservationRow]) -> None:
        with self._sessions.begin() as session:
            session.execute(sa.insert(Observation), [asdict(r) for r in rows])

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
