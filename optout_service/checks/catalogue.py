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
from optout_service.reasons import Reason

# Read by the engine itself, not by a check module: the piracy list runs before every check
# (a listed host is never contacted), and the engine's own codes close every answer.
PIRACY = SignalInfo(
    name="Piracy lists",
    where="the URL's host and its registrable domain, before anything else (no request is made)",
    source="EU GPAI Code of Practice, copyright chapter: exclude websites that courts or public "
    "authorities in the EU/EEA recognised as persistently and repeatedly infringing",
    reasons={Reason.PIRACY_LISTED: "the host or a parent domain is on a loaded piracy list"},
    purposes="a refusal for every purpose; the host is never contacted, not even for robots.txt",
)
ENGINE = SignalInfo(
    name="The decision itself",
    where="every answer, before and after the fetch",
    source="this service",
    reasons={
        Reason.CHECK_FAILED: "a check raised on this input: refused, never let through",
        Reason.CONTENT_UNRESERVED: "after the fetch: nothing found against keeping the response",
    },
    purposes="check.failed refuses for every purpose; content.unreserved is the keep answer",
)


def _modules(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(path.partition(":")[0] for path in paths))


def signals() -> list[SignalInfo]:
    """Every signal row: the piracy list, the site checks, the asset checks (each module once,
    in check order), then the engine's own codes."""
    rows: list[SignalInfo] = [PIRACY]
    for name in _modules((*SITE_CHECKS, *ASSET_CHECKS)):
        module = importlib.import_module(name)
        found = getattr(module, "SIGNALS", None) or (
            (module.SIGNAL,) if hasattr(module, "SIGNAL") else ()
        )
        rows.extend(row for row in found if row not in rows)
    rows.append(ENGINE)
    return rows


def reason_codes() -> frozenset[str]:
    """Every reason code the service can answer with."""
    return frozenset(str(code) for row in signals() for code in row.reasons)


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
