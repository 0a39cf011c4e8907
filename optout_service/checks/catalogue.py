"""The table of every signal we read, made from the check modules' own ``SIGNAL`` rows.

``docs/signals.md`` is this table rendered (``optout-service signals --write docs/signals.md``;
a test fails when the file and the code disagree), and the public crawler page shows the same
rows: each reading is written once, beside the code that does it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from optout_service.checks import ASSET_CHECKS, SITE_CHECKS
from optout_service.checks.base import SignalInfo
from optout_service.purposes import Purpose


def _modules(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(path.partition(":")[0] for path in paths))


def signals() -> list[SignalInfo]:
    """Every signal row, site checks first, each module once, in check order."""
    rows: list[SignalInfo] = []
    for name in _modules((*SITE_CHECKS, *ASSET_CHECKS)):
        module = importlib.import_module(name)
        found = getattr(module, "SIGNALS", None) or (
            (module.SIGNAL,) if hasattr(module, "SIGNAL") else ()
        )
        rows.extend(row for row in found if row not in rows)
    return rows


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


_HEAD = """# Signals we read

Generated from the check modules (`optout-service signals --write docs/signals.md`); the
public crawler page shows the same table. Before the fetch, the site checks run in this order
(after the piracy list); after the fetch, the asset checks. Every applicable reason is listed
in an answer, and the most restrictive applicable statement wins: a reservation found by one
signal is never lifted by a permission found by another.

Purposes: {purposes}. A crawl declares its purposes (`purposes` in `POST /v1/decisions`,
`COMPLIANCE_PURPOSES` in the crawler; default: the service's `OPTOUT_CRAWLER__PURPOSES`,
`train-ai`). A reservation applies to a crawl when it reserves one of its purposes; refusals
(robots.txt, access control, piracy) apply whatever the purpose.
"""


def render() -> str:
    """``docs/signals.md``."""
    purposes = ", ".join(f"`{p.value}`" for p in Purpose)
    parts = [_HEAD.format(purposes=purposes)]
    parts.append("\n## Summary\n")
    parts.append("| signal | where it is read | reason codes |\n| --- | --- | --- |")
    for row in signals():
        codes = ", ".join(f"`{code}`" for code in row.reasons)
        parts.append(f"| {_cell(row.name)} | {_cell(row.where)} | {codes} |")
    for row in signals():
        parts.append(f"\n## {row.name}\n")
        parts.append(f"- **Where:** {_cell(row.where)}")
        parts.append(f"- **Specification:** {_cell(row.source)}")
        parts.append(f"- **Purposes:** {_cell(row.purposes)}")
        if row.reading:
            parts.append(f"- **Our reading:** {_cell(row.reading)}")
        parts.append("\n| reason code | meaning |\n| --- | --- |")
        parts.extend(f"| `{code}` | {_cell(meaning)} |" for code, meaning in row.reasons.items())
    return "\n".join(parts) + "\n"
