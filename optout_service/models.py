"""Tables. The decision log (``decision``, ``observation``) is append-only; every policy
document the service fetched is stored once per distinct content (``policy_document``) and each
fetch of it is a ``policy_fetch`` row, so an auditor sees what a site said and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class PolicyDocument(Base):
    __tablename__ = "policy_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # the kind it was first fetched as
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    first_seen_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class PolicyFetch(Base):
    __tablename__ = "policy_fetch"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    origin: Mapped[str] = mapped_column(sa.String(320), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    final_url: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[int | None] = mapped_column(sa.Integer)
    # ok | client_error | server_error | network_error | too_many_redirects | blocked_address
    outcome: Mapped[str] = mapped_column(sa.String(32))
    error: Mapped[str | None] = mapped_column(sa.String(500))
    truncated: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("policy_document.id"))
    fetched_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class Decision(Base):
    __tablename__ = "decision"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    job: Mapped[str] = mapped_column(sa.String(200), index=True)
    # The name of the API key that asked (tenancy: a crawl key sees only its own decisions).
    api_key: Mapped[str] = mapped_column(sa.String(100), index=True)
    crawler: Mapped[str] = mapped_column(sa.String(100))
    url: Mapped[str] = mapped_column(sa.Text)
    host: Mapped[str] = mapped_column(sa.String(255), index=True)
    decision: Mapped[str] = mapped_column(sa.String(8))
    reasons: Mapped[list[str]] = mapped_column(sa.JSON)
    crawl_delay: Mapped[float | None] = mapped_column(sa.Float)
    robots_fetch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("policy_fetch.id"))
    # The crawl's purposes ("train-ai", ...), and the URLs a data team could use to ask for a
    # licence (tdm-policy, RSL). NULL in rows written before purposes existed.
    purposes: Mapped[list[str] | None] = mapped_column(sa.JSON)
    licenses: Mapped[list[str] | None] = mapped_column(sa.JSON)


class DecisionDocument(Base):
    """Every policy document a decision read: robots.txt, tdmrep.json, ai.txt, RSL licences."""

    __tablename__ = "decision_document"

    decision_id: Mapped[str] = mapped_column(sa.ForeignKey("decision.id"), primary_key=True)
    fetch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("policy_fetch.id"), primary_key=True, index=True
    )


class Observation(Base):
    __tablename__ = "observation"

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(36), unique=True)
    decision_id: Mapped[str] = mapped_column(sa.ForeignKey("decision.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), default=utcnow, index=True
    )
    job: Mapped[str] = mapped_column(sa.String(200), index=True)
    api_key: Mapped[str] = mapped_column(sa.String(100), index=True)
    url: Mapped[str] = mapped_column(sa.Text)
    host: Mapped[str] = mapped_column(sa.String(255), index=True)
    final_url: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[int] = mapped_column(sa.Integer)
    content_type: Mapped[str | None] = mapped_column(sa.String(255))
    length: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    outcome: Mapped[str] = mapped_column(sa.String(8))
    reasons: Mapped[list[str]] = mapped_column(sa.JSON)
    headers: Mapped[list[Any]] = mapped_column(sa.JSON)
    # What the crawler extracted from a non-HTML asset (XMP, EPUB package, C2PA assertions).
    extract: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


class LogChain(Base):
    """The log's one append-only sequence: every decision, observation and policy fetch in
    the order the database committed them, each hash-chained to the one before
    (``optout_service.chain``; docs/audit-log.md)."""

    __tablename__ = "log_chain"
    __table_args__ = (sa.UniqueConstraint("kind", "record_id"),)

    seq: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(sa.String(16))  # decision | observation | fetch | genesis
    record_id: Mapped[str] = mapped_column(sa.String(200))
    digest: Mapped[str] = mapped_column(sa.String(64))  # sha256 of the record's encoding
    chain: Mapped[str] = mapped_column(sa.String(64))  # sha256(previous chain || digest)


class LogCheckpoint(Base):
    """A signed statement of the chain's head at ``seq`` (Ed25519; docs/audit-log.md)."""

    __tablename__ = "log_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(sa.BigInteger, index=True)
    head: Mapped[str] = mapped_column(sa.String(64))
    signed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True))
    public_key: Mapped[str] = mapped_column(sa.String(64))
    signature: Mapped[str] = mapped_column(sa.String(128))
