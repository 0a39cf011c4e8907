"""Fixtures for every kind of test: the throw-away PostgreSQL cluster and the database URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import Cluster


@pytest.fixture(scope="session")
def postgres() -> Iterator[Cluster]:
    """A PostgreSQL server on loopback for the whole run, started on first use."""
    if os.environ.get("OPTOUT_TEST_POSTGRES") == "skip":
        pytest.skip("OPTOUT_TEST_POSTGRES=skip")
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Empty tables at the latest schema: a new SQLite file (migrated by the app at start-up),
    and a PostgreSQL database, truncated for each test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'optout.sqlite3'}"
    cluster: Cluster = request.getfixturevalue("postgres")
    return cluster.scratch()
