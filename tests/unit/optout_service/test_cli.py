"""``optout-service``: a user's mistake is one line and a non-zero status, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optout_service.cli import EXIT_CONFIG, EXIT_DATABASE, app
from optout_service.config import get_settings

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("OPTOUT_DATABASE__URL", "OPTOUT_AUTH__API_KEYS", "OPTOUT_FETCH__MAX_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_export_of_a_database_never_migrated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPTOUT_DATABASE__URL", f"sqlite:///{tmp_path / 'new.sqlite3'}")
    result = runner.invoke(app, ["export", "-o", str(tmp_path / "log.jsonl")])
    assert result.exit_code == EXIT_DATABASE
    line = _one_line_error(result.stderr)
    assert "never migrated" in line
    assert "optout-service migrate" in line
    assert not (tmp_path / "log.jsonl").exists()


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("OPTOUT_FETCH__MAX_BYTES", "12", "OPTOUT_FETCH__MAX_BYTES"),
        ("OPTOUT_AUTH__API_KEYS", "not json", "OPTOUT_AUTH"),
        ("OPTOUT_AUTH__API_KEYS", '[{"name": "a", "scopes": ["crawl"]}]', "OPTOUT_AUTH__API_KEYS"),
    ],
)
@pytest.mark.parametrize("command", ["export", "migrate", "serve"])
def test_a_bad_setting_is_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str, command: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = runner.invoke(app, [command])
    assert result.exit_code == EXIT_CONFIG
    assert named in _one_line_error(result.stderr)


def test_migrate_then_export_writes_the_whole_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPTOUT_DATABASE__URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["export", "-o", str(tmp_path / "log.jsonl")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "log.jsonl").read_text() == ""
    assert "0 records" in result.stderr
    assert not list(tmp_path.glob("*.partial"))


async def test_serve_freezes_the_heap_only_once_the_server_has_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    import uvicorn

    from optout_service import cli

    collector_during_startup: list[bool] = []

    async def startup(self: uvicorn.Server, sockets: object = None) -> None:
        collector_during_startup.append(gc.isenabled())

    monkeypatch.setattr(uvicorn.Server, "startup", startup)
    gc.unfreeze()
    gc.disable()  # as serve leaves it while it imports and builds the app
    try:
        server = cli._heap_freezing_server(uvicorn.Config(app="optout_service.main:create_app"))
        await server.startup()
        assert collector_during_startup == [False]
        assert gc.isenabled()
        assert gc.get_freeze_count() > 1000
    finally:
        gc.enable()
        gc.unfreeze()
