"""A throw-away PostgreSQL cluster for the test suite, from the machine's own PostgreSQL binaries.

:class:`Cluster` runs ``initdb`` in a temporary directory, starts the server on 127.0.0.1 (a
random free port) and on a Unix socket in that directory, and stops and deletes it at the end.
Unit tests reach it over the Unix socket (they may not open network sockets); integration tests
and subprocesses may use either. As root, the server runs as the ``postgres`` account that
Debian's package creates (PostgreSQL refuses to run as root).

``tests/support/ensure-postgres.sh`` (run by ``make test``) installs Debian's ``postgresql``
package when no binaries are found. ``OPTOUT_TEST_POSTGRES=skip`` skips every PostgreSQL test
instead, for machines where it cannot be installed; CI never sets it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

TEMPLATE = "optout_template"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here (``make test`` installs them)."""


def find_bindir() -> Path:
    """The directory holding initdb/pg_ctl: Debian's versioned one, else from PATH."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise PostgresUnavailable(
        "PostgreSQL is not installed: run `make test` (it installs Debian's postgresql package) "
        "or set OPTOUT_TEST_POSTGRES=skip"
    )


def _free_port() -> int:
    # Asked of a child process: the caller may be a unit test whose sockets are blocked.
    code = "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    return int(output.stdout)


class Cluster:
    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="optout-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root  # short path: Unix socket paths are limited to ~100 bytes
        self.port = _free_port()
        self.user = "postgres"
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            # initdb and postgres refuse to run as root: use the package's service account.
            pwd.getpwnam("postgres")
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o755)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._started = False
        self._scratch: str | None = None

    def _run(self, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [*self._run_as, *args], capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.user,
            "--auth=trust",  # reachable only from this machine: loopback and a private socket
            "--encoding=UTF8",
            "--no-sync",
            "--locale=C",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.socket_dir}",
                # Speed, not durability: the cluster lives as long as the test run. (A killed
                # client or service never loses a commit: that is the server's memory, not disk.)
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "server.log"),
            "-w",
            "start",
        )
        self._started = True
        atexit.register(self.stop)
        self._create_template()

    def stop(self) -> None:
        if self._started:
            self._started = False
            with contextlib.suppress(Exception):
                self._run(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                )
        shutil.rmtree(self.root, ignore_errors=True)

    # URLs ------------------------------------------------------------------------------------
    def url(self, database: str, *, tcp: bool = False) -> str:
        """SQLAlchemy URL of ``database``: over the Unix socket, or TCP on 127.0.0.1."""
        if tcp:
            return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"
        return (
            f"postgresql+psycopg://{self.user}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def _admin(self) -> sa.Engine:
        return sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")

    def _create_template(self) -> None:
        from optout_service.db import upgrade_to_head

        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{TEMPLATE}"'))
        finally:
            engine.dispose()
        upgrade_to_head(self.url(TEMPLATE))

    # databases -------------------------------------------------------------------------------
    def create_database(self, *, migrated: bool = True) -> str:
        """A new database (migrated to head, or empty); returns its name."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        engine = self._admin()
        try:
            with engine.connect() as conn:
                template = f' TEMPLATE "{TEMPLATE}"' if migrated else ""
                conn.execute(sa.text(f'CREATE DATABASE "{name}"{template}'))
        finally:
            engine.dispose()
        return name

    def drop_database(self, name: str) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    def scratch(self) -> str:
        """URL of a migrated database emptied for the caller: cheaper than a new database
        (about 20 ms against 400 ms), for tests that only need empty tables."""
        if self._scratch is None:
            self._scratch = self.create_database()
        engine = sa.create_engine(self.url(self._scratch))
        try:
            with engine.begin() as conn:
                tables = [
                    name for name in sa.inspect(conn).get_table_names() if name != "alembic_version"
                ]
                if tables:
                    listed = ", ".join(f'"{name}"' for name in tables)
                    conn.execute(sa.text(f"TRUNCATE {listed} RESTART IDENTITY CASCADE"))
        finally:
            engine.dispose()
        return self.url(self._scratch)

    @contextlib.contextmanager
    def database(self, *, migrated: bool = True, tcp: bool = False) -> Iterator[str]:
        """A fresh database for one test, dropped afterwards; yields its URL."""
        name = self.create_database(migrated=migrated)
        try:
            yield self.url(name, tcp=tcp)
        finally:
            self.drop_database(name)
