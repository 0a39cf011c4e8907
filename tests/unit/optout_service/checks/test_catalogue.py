"""The table of signals: written once, beside the checks, and docs/signals.md is that table."""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path

from typer.testing import CliRunner

from optout_service.checks import ASSET_CHECKS, SITE_CHECKS
from optout_service.checks.catalogue import reason_codes, render, signals
from optout_service.cli import app
from optout_service.reasons import Reason

DOCS = Path(__file__).resolve().parents[4] / "docs" / "signals.md"


def test_docs_signals_md_is_the_rendered_table() -> None:
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/signals.md is stale: run `optout-service signals --write docs/signals.md`"
    )


def test_cli_prints_and_writes_the_same_table(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(app, ["signals"])
    assert printed.exit_code == 0
    assert printed.stdout == render()
    target = tmp_path / "signals.md"
    written = runner.invoke(app, ["signals", "--write", str(target)])
    assert written.exit_code == 0
    assert target.read_text(encoding="utf-8") == render()


def _reason_enums() -> list[type[StrEnum]]:
    """Every StrEnum of reason codes the check modules define."""
    found: list[type[StrEnum]] = [Reason]
    for path in (*SITE_CHECKS, *ASSET_CHECKS):
        module = importlib.import_module(path.partition(":")[0])
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, StrEnum)
                and value is not StrEnum
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


def test_every_reason_code_of_every_check_is_in_the_table() -> None:
    documented = reason_codes()
    for enum in _reason_enums():
        missing = {str(code) for code in enum} - documented
        assert not missing, f"{enum.__module__}.{enum.__name__}: {sorted(missing)}"


def test_every_row_is_complete_and_every_code_means_something() -> None:
    for row in signals():
        assert all((row.name, row.where, row.source, row.purposes)), row
        for code, meaning in row.reasons.items():
            family, dot, finding = code.partition(".")
            assert all((family, dot, finding)), code
            assert meaning.strip(), code


def test_the_table_starts_with_the_piracy_list_and_ends_with_the_engine() -> None:
    rows = signals()
    assert rows[0].reasons.keys() == {Reason.PIRACY_LISTED}
    assert Reason.CHECK_FAILED in rows[-1].reasons
    assert Reason.CONTENT_UNRESERVED in rows[-1].reasons
    text = render()
    assert text.index("## Piracy lists") < text.index("## robots.txt")
