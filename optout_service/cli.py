"""``optout-service``: serve the API, migrate the database, export and verify the log.

Every failure a user can cause (a bad ``OPTOUT_*`` value, a database that cannot be reached or
was never migrated) is reported in one line on stderr with a non-zero exit status:
1 for a database problem, 2 for a configuration or usage problem, 3 when a server started with
``--lifeline-fd`` outlived its parent, 4 when the server could not start (uvicorn says why),
5 when ``verify`` finds the log altered.
``serve`` prepares the database (migrates SQLite, checks that another database is at head)
before it listens, so that its failures too are one line.
"""

from __future__ import annotations

import gc
import json
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any, NoReturn

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.exc import SQLAlchemyError

from optout_service.config import Settings, get_settings
from optout_service.db import Database, DatabaseNotMigrated, check_at_head, upgrade_to_head
from optout_service.repository import ExportFilter, Repository

app = typer.Typer(help="The opt-out service.", no_args_is_help=True, add_completion=False)

EXIT_DATABASE = 1
EXIT_CONFIG = 2
# The parent of a server started with --lifeline-fd died and the server did not stop in time.
EXIT_LIFELINE = 3
# The server did not start (uvicorn has logged why).
EXIT_STARTUP = 4
# ``verify`` found the log altered (edited, deleted, inserted or reordered records).
EXIT_TAMPERED = 5


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def describe_settings_error(error: ValidationError) -> str:
    """One line naming the environment variable of each bad setting."""
    problems = []
    for item in error.errors():
        variable = "OPTOUT_" + "__".join(str(part) for part in item["loc"]).upper()
        problems.append(f"{variable}: {item['msg']}")
    return "invalid setting " + "; ".join(problems)


def _settings() -> Settings:
    try:
        return get_settings()
    except ValidationError as exc:
        _fail(describe_settings_error(exc), EXIT_CONFIG)
    except SettingsError as exc:
        # A nested group given as JSON that does not parse, e.g. OPTOUT_AUTH__API_KEYS.
        field = re.search(r'field "([^"]+)"', str(exc))
        name = f"OPTOUT_{field.group(1).upper()}*" if field else "an OPTOUT_* variable"
        cause = f": {exc.__cause__}" if exc.__cause__ is not None else ""
        _fail(f"invalid setting {name}: not valid JSON{cause}", EXIT_CONFIG)


def _database_error(exc: SQLAlchemyError) -> NoReturn:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    _fail(f"database: {detail[0] if detail else type(exc).__name__}", EXIT_DATABASE)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind (0: any free port)")] = 8000,
    uds: Annotated[
        Path | None,
        typer.Option(help="listen on this Unix domain socket instead of --host/--port"),
    ] = None,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
    timeout_keep_alive: Annotated[
        int, typer.Option(min=1, help="seconds an idle keep-alive connection stays open")
    ] = 5,
    lifeline_fd: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="an inherited pipe's read end: the server stops when it reaches end of file,"
            " i.e. when the process holding the write end (its parent) exits, however it dies",
        ),
    ] = None,
) -> None:
    """Serve the API with uvicorn (settings from OPTOUT_* variables)."""
    # Start-up builds objects that live as long as the process (modules, routes and their
    # schemas, the suffix list, the piracy lists): the collector walking them again and again
    # while they are built costs ~0.1 s of the time to ready. It is off until the server has
    # started, then the heap is frozen (see _HeapFreezingServer).
    gc.disable()
    import uvicorn

    if lifeline_fd is not None:
        _watch_lifeline(lifeline_fd)
    settings = _settings()  # a bad value is one line here, not a traceback from every worker
    _prepare_database(settings)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "uds": str(uds) if uds is not None else None,
        "log_level": log_level,
        "proxy_headers": True,
        "timeout_keep_alive": timeout_keep_alive,
    }
    if workers > 1:
        gc.enable()  # each worker is a new interpreter; the supervisor only waits
        uvicorn.run(APP_FACTORY, workers=workers, **options)
        return
    config = uvicorn.Config(APP_FACTORY, **options)
    server = _heap_freezing_server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if uds is not None:
            uds.unlink(missing_ok=True)
    if not server.started:
        raise typer.Exit(EXIT_STARTUP)


APP_FACTORY = "optout_service.main:create_app"


def _heap_freezing_server(config: Any) -> Any:
    """A uvicorn server that, once started (app built, lifespan run, socket bound), freezes
    the heap (``gc.freeze``: never walked again by a collection) and switches the collector
    back on.

    Full collections walk every tracked object; the objects of start-up are most of them and
    never become garbage, so each full collection during the crawl costs a fraction of what it
    would (docs/performance.md).
    """
    import uvicorn

    class HeapFreezingServer(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            try:
                await super().startup(sockets)
            finally:
                # No collection first: it would cost ~50 ms before the first answer, to free
                # the little that start-up left as cyclic garbage, once.
                gc.freeze()
                gc.enable()

    return HeapFreezingServer(config)


def _prepare_database(settings: Settings) -> None:
    """Before serving: what the app's start-up would do to the database, failing in one line.

    SQLite is migrated (the app's own migration at start-up then finds it at head); another
    database must already be at head (the deployment's prestart step migrates it).
    """
    try:
        if settings.database.should_migrate_on_startup:
            upgrade_to_head(settings.database.url)
            return
        database = Database(settings.database)
        try:
            check_at_head(database.engine)
        finally:
            database.dispose()
    except DatabaseNotMigrated as exc:
        _fail(str(exc), EXIT_DATABASE)
    except SQLAlchemyError as exc:
        _database_error(exc)
    except OSError as exc:  # e.g. the SQLite file's directory cannot be created
        _fail(f"database: {exc}", EXIT_DATABASE)


# After the lifeline breaks: time for a graceful shutdown before the process ends regardless.
LIFELINE_GRACE_SECONDS = 5.0


def _watch_lifeline(fd: int) -> None:
    """Stop this process once ``fd`` reads end of file (nothing is ever written to it).

    A portable complement to Linux's parent-death signal: the pipe's write end belongs to the
    parent alone, and the kernel closes it when the parent exits, even by SIGKILL. The server
    is asked to stop as by SIGTERM (a graceful shutdown); if it has not ended
    LIFELINE_GRACE_SECONDS later, the process exits at once.
    """
    try:
        os.fstat(fd)
    except OSError as exc:
        _fail(f"--lifeline-fd {fd}: {exc.strerror}", EXIT_CONFIG)

    def watch() -> None:
        try:
            while os.read(fd, 512):
                pass
        except OSError:
            pass
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(LIFELINE_GRACE_SECONDS)
        os._exit(EXIT_LIFELINE)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


@app.command()
def migrate() -> None:
    """Upgrade the configured database to the latest schema (safe to run concurrently)."""
    settings = _settings()
    try:
        upgrade_to_head(settings.database.url)
        database = Database(settings.database)
        url = database.engine.url
        database.dispose()
    except SQLAlchemyError as exc:
        _database_error(exc)
    typer.echo(f"database at head: {url!r}")


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file (default stdout)")
    ] = None,
    job: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Write the decision log as JSONL, straight from the database."""
    settings = _settings()
    database = Database(settings.database)
    try:
        check_at_head(database.engine)
    except DatabaseNotMigrated as exc:
        database.dispose()
        _fail(str(exc), EXIT_DATABASE)
    except SQLAlchemyError as exc:
        database.dispose()
        _database_error(exc)
    repository = Repository(database.sessions)
    count = 0
    # Written beside the target and renamed at the end: a file is complete or absent.
    partial = output.with_name(output.name + ".partial") if output else None
    stream = partial.open("w", encoding="utf-8") if partial else sys.stdout
    try:
        for record in repository.iter_export(ExportFilter(job=job, domain=domain)):
            stream.write(json.dumps(record, separators=(",", ":")) + "\n")
            count += 1
    except SQLAlchemyError as exc:
        _database_error(exc)
    finally:
        if partial:
            stream.close()
        database.dispose()
    if partial and output:
        partial.replace(output)
    typer.echo(f"{count} records", err=True)


@app.command()
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
    public_key: Annotated[
        list[str] | None,
        typer.Option(
            help="hex Ed25519 public key checkpoints must be signed with (repeatable; default: "
            "the configured signing key's and OPTOUT_AUDIT__TRUSTED_PUBLIC_KEYS)"
        ),
    ] = None,
) -> None:
    """Verify the log's hash chain on the configured database; exit 5 at the first problem."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from optout_service.chain import verify as verify_chain

    settings = _settings()
    keys = [k.strip().lower() for k in public_key] if public_key else None
    if keys is None:
        keys = settings.audit.verifying_keys()
    database = Database(settings.database)
    try:
        check_at_head(database.engine)
        with database.engine.connect() as connection:
            total = connection.execute(sa.text("SELECT COUNT(*) FROM log_chain")).scalar_one()
        with Progress(
            TextColumn("verifying"),
            BarColumn(),
            MofNCompleteColumn(),
            transient=True,
            disable=quiet or as_json or not sys.stderr.isatty(),
            console=Console(stderr=True),
        ) as bar:
            task = bar.add_task("chain", total=total)
            report = verify_chain(
                database.engine,
                progress=lambda done: bar.update(task, completed=done),
                public_keys=keys,
            )
    except DatabaseNotMigrated as exc:
        _fail(str(exc), EXIT_DATABASE)
    except SQLAlchemyError as exc:
        _database_error(exc)
    finally:
        database.dispose()
    problem = report.problem
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "public_keys": keys}))
    else:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.by_kind.items()))
        typer.echo(f"{report.records} chain rows checked ({kinds}); head {report.head}")
        legacy = {kind: n for kind, n in report.not_covered.items() if n}
        if legacy:
            listed = ", ".join(f"{n} {kind}" for kind, n in sorted(legacy.items()))
            typer.echo(f"written before the chain started, not covered: {listed}")
        if report.checkpoints:
            typer.echo(
                f"{report.checkpoints} signed checkpoints verified, the last at chain row "
                f"{report.signed_seq}; {report.unsigned} rows after it not signed yet"
                + ("" if keys else " (keys not pinned: give --public-key)")
            )
        elif problem is None:
            typer.echo("no signed checkpoints: only the chain was checked")
        if problem is None:
            typer.echo("ok: the log verifies")
        else:
            where = f" at chain row {problem.seq}" if problem.seq is not None else ""
            typer.echo(
                f"FAILED: {problem.kind} {problem.record_id}{where}: {problem.what}"
                + (f" ({problem.detail})" if problem.detail else ""),
                err=True,
            )
    if problem is not None:
        raise typer.Exit(EXIT_TAMPERED)


@app.command()
def signals(
    write: Annotated[
        Path | None, typer.Option(help="write the table to this file instead of stdout")
    ] = None,
) -> None:
    """Print the table of every signal read, with its reason codes (docs/signals.md)."""
    from optout_service.checks.catalogue import render

    text = render()
    if write is None:
        typer.echo(text, nl=False)
    else:
        write.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {write}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
