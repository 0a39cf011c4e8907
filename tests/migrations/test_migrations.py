"""The Alembic history on a real SQLite file and a real PostgreSQL database: up, down, up
again, no drift from the models, and concurrent upgrades (replicas starting together)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from optout_service.chain import verify
from optout_service.db import DatabaseNotMigrated, alembic_config, check_at_head
from optout_service.models import Base
from tests.support.postgres import Cluster

pytestmark = pytest.mark.migrations

ROOT = Path(__file__).resolve().parents[2]
TABLES = {
    "decision",
    "decision_document",
    "log_chain",
    "log_checkpoint",
    "observation",
    "policy_document",
    "policy_fetch",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'm.sqlite3'}"
        return
    cluster: Cluster = request.getfixturevalue("postgres")
    with cluster.database(migrated=False, tcp=True) as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _revision(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    script = ScriptDirectory.from_config(cfg)
    revisions = [r.revision for r in script.walk_revisions("base", "heads")][::-1]
    assert len(revisions) >= 2
    command.upgrade(cfg, "head")
    assert _tables(empty_database) == TABLES
    # Every step down and up again, not only the whole way.
    for revision in reversed(revisions[:-1]):
        command.downgrade(cfg, revision)
        assert _revision(empty_database) == {revision}
    command.downgrade(cfg, "base")
    assert _tables(empty_database) == set()
    command.upgrade(cfg, "head")
    assert _tables(empty_database) == TABLES
    assert _revision(empty_database) == set(script.get_heads())


def test_models_and_migrations_agree(empty_database: str) -> None:
    command.upgrade(alembic_config(empty_database), "head")
    engine = sa.create_engine(empty_database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_rows_written_before_the_key_column_belong_to_nobody(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0001")
    engine = sa.create_engine(empty_database)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO decision (id, created_at, job, crawler, url, host, decision,"
                    " reasons) VALUES ('d1', CURRENT_TIMESTAMP, 'j', 'ExampleBot',"
                    " 'http://a.example/', 'a.example', 'allow', '[]')"
                )
            )
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT api_key FROM decision")).scalar_one() == ""
    finally:
        engine.dispose()


def test_rows_written_before_the_chain_are_counted_not_covered(empty_database: str) -> None:
    cfg = alembic_config(empty_database)
    command.upgrade(cfg, "0003")
    engine = sa.create_engine(empty_database)
    insert = (
        "INSERT INTO decision (id, created_at, job, api_key, crawler, url, host, decision,"
        " reasons) VALUES ('{id}', CURRENT_TIMESTAMP, 'j', '', 'ExampleBot',"
        " 'http://a.example/', 'a.example', 'allow', '[]')"
    )
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(insert.format(id="before-1")))
            conn.execute(sa.text(insert.format(id="before-2")))
        command.upgrade(cfg, "head")
        report = verify(engine)
        assert report.ok, report.problem
        assert report.by_kind == {"genesis": 1}
        assert report.not_covered == {"decision": 2, "observation": 0, "fetch": 0}
        # A row added past the chain after it started is an insertion.
        with engine.begin() as conn:
            conn.execute(sa.text(insert.format(id="forged")))
        problem = verify(engine).problem
        assert problem is not None
        assert (problem.what, problem.kind, problem.record_id) == ("inserted", "decision", "forged")
    finally:
        engine.dispose()


def test_history_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_check_at_head_names_the_fix(empty_database: str) -> None:
    engine = sa.create_engine(empty_database)
    try:
        with pytest.raises(DatabaseNotMigrated, match="optout-service migrate"):
            check_at_head(engine)
        command.upgrade(alembic_config(empty_database), "head")
        check_at_head(engine)
    finally:
        engine.dispose()


def test_concurrent_migrate_commands_all_succeed(empty_database: str) -> None:
    """Three `optout-service migrate` started at once on an empty database (three replicas
    starting together): every one exits 0 and the schema is at head once."""
    env = {
        **os.environ,
        "OPTOUT_DATABASE__URL": empty_database,
        "PYTHONPATH": str(ROOT),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "optout_service.cli", "migrate"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=120), p.communicate()) for p in procs]
    for code, (_out, err) in results:
        assert code == 0, err[-3000:]
    assert _tables(empty_database) == TABLES
    script = ScriptDirectory.from_config(alembic_config(empty_database))
    assert _revision(empty_database) == set(script.get_heads())
