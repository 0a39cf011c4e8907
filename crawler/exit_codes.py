"""The exit codes of ``optout-crawl``: stable, documented here, in ``--help`` and in the README.

When several apply, the first of these wins: service refusals (3), log export failed (4),
interrupted (130). The reason is printed as one ``error:`` line on stderr.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    # The crawl ran to its end (or its limits) and its decision log was exported.
    OK = 0
    # An unexpected failure: a traceback on stderr.
    FAILURE = 1
    # The command line was wrong (Click's code for usage errors).
    USAGE = 2
    # Requests were refused because the opt-out service was unavailable or rejected the
    # crawler's calls (service.unavailable, service.rejected: a wrong API key, for one).
    SERVICE_REFUSALS = 3
    # The job's decision log could not be exported; the per-host table is missing.
    LOG_EXPORT_FAILED = 4
    # Stopped by SIGINT (Ctrl-C) or SIGTERM; the log and the table cover the crawl until then.
    INTERRUPTED = 130


DESCRIPTIONS: dict[ExitCode, str] = {
    ExitCode.OK: "the crawl finished and its decision log was exported",
    ExitCode.FAILURE: "unexpected failure (a traceback follows)",
    ExitCode.USAGE: "usage error",
    ExitCode.SERVICE_REFUSALS: (
        "requests refused: the opt-out service was unavailable or rejected them"
    ),
    ExitCode.LOG_EXPORT_FAILED: "the decision log could not be exported",
    ExitCode.INTERRUPTED: "stopped by Ctrl-C or SIGTERM",
}

# When several codes apply, the earliest of this list is the exit code.
PRECEDENCE: tuple[ExitCode, ...] = (
    ExitCode.SERVICE_REFUSALS,
    ExitCode.LOG_EXPORT_FAILED,
    ExitCode.INTERRUPTED,
)


def describe() -> str:
    """The exit codes, one a line, as ``--help`` shows them (each line under 80 columns)."""
    lines = [f"{int(code):>5}  {DESCRIPTIONS[code]}" for code in ExitCode]
    order = ", then ".join(str(int(code)) for code in PRECEDENCE)
    return "\n".join(
        [
            "Exit codes:",
            *lines,
            f"When several apply: {order}. Why: one 'error:' line on stderr.",
        ]
    )
