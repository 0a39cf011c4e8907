"""The hash chain over the log: canonical encodings, appending, verifying.

Every decision, observation and policy fetch is a *record*. Its canonical encoding is the UTF-8
of its JSON object with sorted keys and no whitespace (``encode``); its *digest* is the sha256 of
that. The chain value of the n-th row of ``log_chain`` is ``sha256(chain[n-1] || digest[n])``
over the raw 32-byte values, with 32 zero bytes before the first row. The fields of each
record and the reading of each check are in docs/audit-log.md, written so that a third party can
re-implement the check on an export.

Appending happens in the log writer's transaction, after the records' own rows: on PostgreSQL
under a transaction-scoped advisory lock (replicas append one transaction at a time, and the
sequence order is the commit order); on SQLite the transaction already holds the database's
write lock once it has written those rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy as sa

from optout_service.models import (
    Decision,
    DecisionDocument,
    LogChain,
    LogCheckpoint,
    Observation,
    PolicyDocument,
    PolicyFetch,
)

__all__ = [
    "START",
    "ChainEntry",
    "Checkpointer",
    "Problem",
    "Signer",
    "VerifyReport",
    "append",
    "batch",
    "checkpoint_message",
    "decision_record",
    "digest_of",
    "encode",
    "fetch_record",
    "link",
    "observation_record",
    "verify",
]

START = bytes(32)  # what the first row is chained to
# pg_advisory_xact_lock key of the chain (any constant the service's other locks do not use).
LOCK_KEY = 0x6F70_7463_6861_696E  # "optchain"

ChainEntry = tuple[str, str, bytes]  # kind, record id, digest


def encode(record: Mapping[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def digest_of(record: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(encode(record)).digest()


def link(previous: bytes, digest: bytes) -> bytes:
    return hashlib.sha256(previous + digest).digest()


def timestamp(value: datetime) -> str:
    """UTC, microseconds always written; a naive value (SQLite gives those back) is UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="microseconds")


def _list_or_none(values: Iterable[Any] | None) -> list[Any] | None:
    listed = list(values) if values is not None else []
    return listed or None


def decision_record(
    *,
    id: str,
    time: datetime,
    job: str,
    api_key: str,
    crawler: str,
    url: str,
    host: str,
    decision: str,
    reasons: Iterable[str],
    crawl_delay: float | None,
    robots_fetch_id: int | None,
    purposes: Iterable[str] | None,
    licenses: Iterable[str] | None,
    documents: Iterable[int],
) -> dict[str, Any]:
    return {
        "type": "decision",
        "id": id,
        "time": timestamp(time),
        "job": job,
        "api_key": api_key,
        "crawler": crawler,
        "url": url,
        "host": host,
        "decision": decision,
        "reasons": list(reasons),
        "crawl_delay": float(crawl_delay) if crawl_delay is not None else None,
        "robots_fetch_id": robots_fetch_id,
        "purposes": _list_or_none(purposes),
        "licenses": _list_or_none(licenses),
        "documents": sorted(set(documents)),
    }


def observation_record(
    *,
    id: str,
    decision_id: str,
    time: datetime,
    job: str,
    api_key: str,
    url: str,
    host: str,
    final_url: str,
    status: int,
    content_type: str | None,
    length: int,
    sha256: str,
    outcome: str,
    reasons: Iterable[str],
    headers: Iterable[Sequence[str]],
    extract: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "type": "observation",
        "id": id,
        "decision_id": decision_id,
        "time": timestamp(time),
        "job": job,
        "api_key": api_key,
        "url": url,
        "host": host,
        "final_url": final_url,
        "status": int(status),
        "content_type": content_type,
        "length": int(length),
        "sha256": sha256,
        "outcome": outcome,
        "reasons": list(reasons),
        "headers": [[str(name), str(value)] for name, value in headers],
        # Through JSON and back, as the database hands it over (tuples become lists).
        "extract": json.loads(json.dumps(dict(extract))) if extract is not None else None,
    }


def fetch_record(
    *,
    id: int,
    kind: str,
    origin: str,
    url: str,
    final_url: str | None,
    status: int | None,
    outcome: str,
    error: str | None,
    truncated: bool,
    document_sha256: str | None,
    fetched_at: datetime,
) -> dict[str, Any]:
    return {
        "type": "fetch",
        "id": int(id),
        "kind": kind,
        "origin": origin,
        "url": url,
        "final_url": final_url,
        "status": status,
        "outcome": outcome,
        "error": error,
        "truncated": bool(truncated),
        "document": document_sha256,
        "fetched_at": timestamp(fetched_at),
    }


_CHAIN = cast(sa.Table, LogChain.__table__)
_CHAIN_INSERT = sa.table(
    "log_chain", sa.column("kind"), sa.column("record_id"), sa.column("digest"), sa.column("chain")
).insert()
_LAST_ROW = sa.select(_CHAIN.c.seq, _CHAIN.c.chain).order_by(_CHAIN.c.seq.desc()).limit(1)


_BATCH = "optout_chain_batch"  # key in Connection.info while a batch is open


@contextmanager
def batch(connection: sa.Connection, checkpoints: Checkpointer | None = None) -> Iterator[None]:
    """Within the block, :func:`append` only queues; the queued entries are chained at its end
    with one read of the last row and one INSERT (the log writer wraps each transaction), and
    a signed checkpoint follows in the same transaction when one is due."""
    queued: list[ChainEntry] = []
    connection.info[_BATCH] = queued
    try:
        yield
    finally:
        connection.info.pop(_BATCH, None)
    _append_now(connection, queued)
    if checkpoints is not None and queued:
        checkpoints.after_append(connection, len(queued))


class Signer:
    """Signs checkpoints with an Ed25519 key given as its 32-byte seed in hex."""

    def __init__(self, seed_hex: str) -> None:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        self._key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex))
        self.public_key = (
            self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        )

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).hex()


def checkpoint_message(seq: int, head: str, signed_at: datetime, public_key: str) -> bytes:
    """What a checkpoint's signature is over (docs/audit-log.md)."""
    return encode(
        {
            "type": "checkpoint",
            "seq": int(seq),
            "head": head,
            "signed_at": timestamp(signed_at),
            "public_key": public_key,
        }
    )


_CHECKPOINTS = cast(sa.Table, LogCheckpoint.__table__)


class Checkpointer:
    """Writes a signed checkpoint of the head every ``records`` chained records, or
    ``seconds`` after the last one when records came since, and when asked (at shutdown)."""

    def __init__(
        self,
        signer: Signer,
        *,
        records: int,
        seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.signer = signer
        self.records = records
        self.seconds = seconds
        self._clock = clock
        self.pending = 0  # records chained since the last checkpoint
        self._last = clock()

    def after_append(self, connection: sa.Connection, appended: int) -> None:
        self.pending += appended
        if self.pending >= self.records or self._clock() - self._last >= self.seconds:
            self.write(connection)

    def write(self, connection: sa.Connection) -> None:
        row = connection.execute(_LAST_ROW).first()
        if row is None:
            return
        signed_at = datetime.now(UTC)
        public_key = self.signer.public_key
        signature = self.signer.sign(checkpoint_message(row.seq, row.chain, signed_at, public_key))
        connection.execute(
            sa.insert(_CHECKPOINTS).values(
                seq=row.seq,
                head=row.chain,
                signed_at=signed_at,
                public_key=public_key,
                signature=signature,
            )
        )
        self.pending = 0
        self._last = self._clock()


def append(connection: sa.Connection, entries: Sequence[ChainEntry]) -> None:
    """Chain ``entries`` after the last row, in the open transaction (at the end of the
    enclosing :func:`batch`, if there is one)."""
    queued: list[ChainEntry] | None = connection.info.get(_BATCH)
    if queued is not None:
        queued.extend(entries)
    else:
        _append_now(connection, entries)


def _append_now(connection: sa.Connection, entries: Sequence[ChainEntry]) -> None:
    if not entries:
        return
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    last = connection.execute(_LAST_ROW).first()
    previous = bytes.fromhex(last.chain) if last is not None else START
    rows = []
    for kind, record_id, digest in entries:
        previous = link(previous, digest)
        rows.append(
            {"kind": kind, "record_id": record_id, "digest": digest.hex(), "chain": previous.hex()}
        )
    connection.execute(_CHAIN_INSERT, rows)


# --- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing found wrong: where, and what."""

    what: str  # edited | deleted | inserted | chain_broken | document_edited
    kind: str
    record_id: str
    seq: int | None = None  # the chain row, when there is one
    detail: str = ""


@dataclass(slots=True)
class VerifyReport:
    records: int = 0  # chain rows checked
    head: str | None = None  # the last chain value checked
    by_kind: dict[str, int] = field(default_factory=dict)
    # Rows written before the chain started (migration 0004): present, but not covered.
    not_covered: dict[str, int] = field(default_factory=dict)
    checkpoints: int = 0  # signed checkpoints verified
    signed_seq: int | None = None  # the last chain row a verified checkpoint covers
    unsigned: int = 0  # chain rows after it (not yet covered by a signature)
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    def as_dict(self) -> dict[str, Any]:
        """The report as the route and ``optout-service verify --json`` give it."""
        return {
            "ok": self.ok,
            **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "problem"},
            "problem": asdict(self.problem) if self.problem is not None else None,
        }


_DECISIONS = cast(sa.Table, Decision.__table__)
_LINKS = cast(sa.Table, DecisionDocument.__table__)
_OBSERVATIONS = cast(sa.Table, Observation.__table__)
_FETCHES = cast(sa.Table, PolicyFetch.__table__)
_DOCUMENTS = cast(sa.Table, PolicyDocument.__table__)


def _decision_digests(connection: sa.Connection, ids: list[str]) -> dict[str, bytes]:
    documents: dict[str, list[int]] = {}
    for row in connection.execute(
        sa.select(_LINKS.c.decision_id, _LINKS.c.fetch_id).where(_LINKS.c.decision_id.in_(ids))
    ):
        documents.setdefault(row.decision_id, []).append(row.fetch_id)
    found: dict[str, bytes] = {}
    for row in connection.execute(sa.select(_DECISIONS).where(_DECISIONS.c.id.in_(ids))):
        found[row.id] = digest_of(
            decision_record(
                id=row.id,
                time=row.created_at,
                job=row.job,
                api_key=row.api_key,
                crawler=row.crawler,
                url=row.url,
                host=row.host,
                decision=row.decision,
                reasons=row.reasons,
                crawl_delay=row.crawl_delay,
                robots_fetch_id=row.robots_fetch_id,
                purposes=row.purposes,
                licenses=row.licenses,
                documents=documents.get(row.id, ()),
            )
        )
    return found


def _observation_digests(connection: sa.Connection, ids: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for row in connection.execute(sa.select(_OBSERVATIONS).where(_OBSERVATIONS.c.id.in_(ids))):
        found[row.id] = digest_of(
            observation_record(
                id=row.id,
                decision_id=row.decision_id,
                time=row.created_at,
                job=row.job,
                api_key=row.api_key,
                url=row.url,
                host=row.host,
                final_url=row.final_url,
                status=row.status,
                content_type=row.content_type,
                length=row.length,
                sha256=row.sha256,
                outcome=row.outcome,
                reasons=row.reasons,
                headers=row.headers,
                extract=row.extract,
            )
        )
    return found


class _Documents:
    """Checks once per document that its content still hashes to its sha256."""

    def __init__(self) -> None:
        self.checked: set[int] = set()

    def bad(self, connection: sa.Connection, ids: Iterable[int]) -> int | None:
        todo = [i for i in set(ids) if i not in self.checked]
        for start in range(0, len(todo), 100):
            chunk = todo[start : start + 100]
            for row in connection.execute(
                sa.select(_DOCUMENTS.c.id, _DOCUMENTS.c.sha256, _DOCUMENTS.c.content).where(
                    _DOCUMENTS.c.id.in_(chunk)
                )
            ):
                if hashlib.sha256(row.content).hexdigest() != row.sha256:
                    return int(row.id)
                self.checked.add(int(row.id))
        return None


def _fetch_digests(
    connection: sa.Connection, ids: list[str], documents: _Documents
) -> tuple[dict[str, bytes], int | None]:
    numbers = [int(i) for i in ids if i.isdigit()]
    query = (
        sa.select(_FETCHES, _DOCUMENTS.c.sha256.label("document_sha256"))
        .select_from(_FETCHES.outerjoin(_DOCUMENTS, _FETCHES.c.document_id == _DOCUMENTS.c.id))
        .where(_FETCHES.c.id.in_(numbers))
    )
    found: dict[str, bytes] = {}
    used: list[int] = []
    for row in connection.execute(query):
        if row.document_id is not None:
            used.append(int(row.document_id))
        found[str(row.id)] = digest_of(
            fetch_record(
                id=row.id,
                kind=row.kind,
                origin=row.origin,
                url=row.url,
                final_url=row.final_url,
                status=row.status,
                outcome=row.outcome,
                error=row.error,
                truncated=row.truncated,
                document_sha256=row.document_sha256,
                fetched_at=row.fetched_at,
            )
        )
    return found, documents.bad(connection, used)


def _chain_rows(connection: sa.Connection, batch: int) -> Iterator[list[sa.Row[Any]]]:
    last = 0
    while True:
        rows = list(
            connection.execute(
                sa.select(_CHAIN).where(_CHAIN.c.seq > last).order_by(_CHAIN.c.seq).limit(batch)
            )
        )
        if not rows:
            return
        yield rows
        last = rows[-1].seq


_UNCHAINED = {
    "decision": (_DECISIONS, _DECISIONS.c.seq, _DECISIONS.c.id),
    "observation": (_OBSERVATIONS, _OBSERVATIONS.c.seq, _OBSERVATIONS.c.id),
    "fetch": (_FETCHES, _FETCHES.c.id, sa.cast(_FETCHES.c.id, sa.String)),
}
_BOUNDARY_FIELD = {
    "decision": "decision_seq",
    "observation": "observation_seq",
    "fetch": "fetch_id",
}


def verify(
    engine: sa.Engine,
    *,
    batch: int = 2000,
    progress: Callable[[int], None] | None = None,
    public_keys: Collection[str] | None = None,
) -> VerifyReport:
    """Check the chain row by row, every record against its digest, every signed checkpoint
    (its signature, and the head it states against the chain), and that no record after the
    chain's start is missing from it; stop at the first problem. ``public_keys`` (hex): the
    keys checkpoints must be signed with (None: any key, each signature still checked).
    ``progress`` is called with the number of chain rows checked so far, after each batch."""
    report = VerifyReport()
    documents = _Documents()
    boundary: dict[str, int] = {}
    previous = START
    with engine.connect() as connection:
        checkpoints = list(
            connection.execute(sa.select(_CHECKPOINTS).order_by(_CHECKPOINTS.c.seq))
        )
        wanted = {int(c.seq) for c in checkpoints}
        heads: dict[int, str] = {}
        last_seq = 0
        for rows in _chain_rows(connection, batch):
            problem = _check_batch(connection, rows, previous, report, documents, boundary)
            if problem is not None:
                report.problem = problem
                return report
            heads.update((int(r.seq), r.chain) for r in rows if r.seq in wanted)
            previous = bytes.fromhex(rows[-1].chain)
            report.head = rows[-1].chain
            last_seq = int(rows[-1].seq)
            if progress is not None:
                progress(report.records)
        report.problem = _check_checkpoints(checkpoints, heads, public_keys, report)
        if report.problem is not None:
            return report
        if report.signed_seq is not None and report.records:
            report.unsigned = int(
                connection.scalar(
                    sa.select(sa.func.count())
                    .select_from(_CHAIN)
                    .where(_CHAIN.c.seq > report.signed_seq, _CHAIN.c.seq <= last_seq)
                )
                or 0
            )
        elif report.signed_seq is None:
            report.unsigned = report.records
        report.problem = _first_unchained(connection, boundary, report)
    return report


def _check_checkpoints(
    checkpoints: list[sa.Row[Any]],
    heads: dict[int, str],
    public_keys: Collection[str] | None,
    report: VerifyReport,
) -> Problem | None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    allowed = {key.lower() for key in public_keys} if public_keys is not None else None
    for checkpoint in checkpoints:
        where = ("checkpoint", str(checkpoint.id), int(checkpoint.seq))
        if allowed is not None and checkpoint.public_key.lower() not in allowed:
            return Problem("checkpoint_key_unknown", *where, "signed with a key not given")
        message = checkpoint_message(
            checkpoint.seq, checkpoint.head, checkpoint.signed_at, checkpoint.public_key
        )
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.public_key))
            key.verify(bytes.fromhex(checkpoint.signature), message)
        except (InvalidSignature, ValueError):
            return Problem("checkpoint_bad_signature", *where, "the signature does not verify")
        head = heads.get(int(checkpoint.seq))
        if head is None:
            return Problem(
                "truncated",
                *where,
                "the chain has no row where a signed checkpoint says it had one: rows were "
                "removed",
            )
        if head != checkpoint.head:
            return Problem(
                "checkpoint_mismatch",
                *where,
                "the chain at this row differs from the signed head: the chain was rewritten",
            )
        report.checkpoints += 1
        report.signed_seq = int(checkpoint.seq)
    return None


def _check_batch(
    connection: sa.Connection,
    rows: list[sa.Row[Any]],
    previous: bytes,
    report: VerifyReport,
    documents: _Documents,
    boundary: dict[str, int],
) -> Problem | None:
    by_kind: dict[str, list[str]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.record_id)
    digests: dict[tuple[str, str], bytes] = {}
    if "decision" in by_kind:
        for key, value in _decision_digests(connection, by_kind["decision"]).items():
            digests["decision", key] = value
    if "observation" in by_kind:
        for key, value in _observation_digests(connection, by_kind["observation"]).items():
            digests["observation", key] = value
    bad_document: int | None = None
    if "fetch" in by_kind:
        found, bad_document = _fetch_digests(connection, by_kind["fetch"], documents)
        for key, value in found.items():
            digests["fetch", key] = value
    for row in rows:
        stated = bytes.fromhex(row.digest)
        expected = link(previous, stated)
        if row.chain != expected.hex():
            return Problem(
                "chain_broken",
                row.kind,
                row.record_id,
                row.seq,
                "this row does not follow from the one before: a row was edited, inserted, "
                "deleted or moved here",
            )
        if row.kind == "genesis":
            if hashlib.sha256(row.record_id.encode("utf-8")).digest() != stated:
                return Problem("edited", "genesis", row.record_id, row.seq)
            start = json.loads(row.record_id)
            for kind, name in _BOUNDARY_FIELD.items():
                boundary[kind] = int(start.get(name, 0))
        else:
            actual = digests.get((row.kind, row.record_id))
            if actual is None:
                return Problem("deleted", row.kind, row.record_id, row.seq, "no such record")
            if actual != stated:
                return Problem(
                    "edited", row.kind, row.record_id, row.seq, "differs from what was logged"
                )
        previous = expected
        report.records += 1
        report.by_kind[row.kind] = report.by_kind.get(row.kind, 0) + 1
    if bad_document is not None:
        return Problem(
            "document_edited",
            "document",
            str(bad_document),
            None,
            "the stored content no longer hashes to its sha256",
        )
    return None


def _first_unchained(
    connection: sa.Connection, boundary: dict[str, int], report: VerifyReport
) -> Problem | None:
    """A record after the chain's start that has no chain row was inserted past the log."""
    for kind, (table, order, key) in _UNCHAINED.items():
        start = boundary.get(kind, 0)
        report.not_covered[kind] = int(
            connection.scalar(sa.select(sa.func.count()).select_from(table).where(order <= start))
            or 0
        )
        chained = sa.select(_CHAIN.c.seq).where(
            _CHAIN.c.kind == kind, _CHAIN.c.record_id == key
        )
        row = connection.execute(
            sa.select(key.label("id"))
            .where(order > start, ~chained.exists())
            .order_by(order)
            .limit(1)
        ).first()
        if row is not None:
            return Problem("inserted", kind, str(row.id), None, "a record that is not in the chain")
    return None
