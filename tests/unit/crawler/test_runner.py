"""The runner's stop signals, its stats file, and files that are complete or absent."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.files import atomic_output, partial_path
from crawler.runner import StopSignals, _json_safe


class Calls:
    def __init__(self) -> None:
        self.graceful: list[str] = []
        self.force: list[str] = []


def signals_with(calls: Calls) -> StopSignals:
    stop = StopSignals()
    stop._graceful, stop._force = calls.graceful.append, calls.force.append
    return stop


def test_during_the_crawl_the_first_signal_stops_gracefully_the_second_at_once() -> None:
    calls = Calls()
    stop = signals_with(calls)
    stop._handle(signal.SIGTERM, None)
    assert (calls.graceful, calls.force) == (["SIGTERM"], [])
    stop._handle(signal.SIGINT, None)
    assert calls.force == ["SIGINT"]
    with pytest.raises(KeyboardInterrupt):
        stop._handle(signal.SIGINT, None)
    assert stop.first == "SIGTERM"


def test_during_the_export_the_first_signal_is_noted_the_second_abandons_it(
    capfd: pytest.CaptureFixture[str],
) -> None:
    calls = Calls()
    stop = signals_with(calls)
    stop._handle(signal.SIGINT, None)  # stopped the crawl
    stop.phase = "export"
    stop._handle(signal.SIGINT, None)
    assert "the decision log export goes on" in capfd.readouterr().err
    with pytest.raises(KeyboardInterrupt):
        stop._handle(signal.SIGTERM, None)
    assert (calls.graceful, calls.force) == (["SIGINT"], [])


def test_sigterm_and_sigint_are_both_handled_then_given_back() -> None:
    calls = Calls()
    stop = StopSignals()
    before = signal.getsignal(signal.SIGTERM)
    stop.install(calls.graceful.append, calls.force.append)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not calls.graceful and time.monotonic() < deadline:
            time.sleep(0.01)
        assert calls.graceful == ["SIGTERM"]
    finally:
        stop.restore()
    assert signal.getsignal(signal.SIGTERM) == before


def test_stats_with_nested_values_are_written_as_json() -> None:
    when = datetime(2026, 11, 23, 1, 15, tzinfo=UTC)
    stats = {
        "start_time": when,
        "compliance/skipped_hosts": {"a.test": {"crawl_delay": 3600.0, "requests": 2}},
        "odd": {1, 2} - {1, 2},
    }
    assert json.loads(json.dumps(_json_safe(stats))) == {
        "start_time": when.isoformat(),
        "compliance/skipped_hosts": {"a.test": {"crawl_delay": 3600.0, "requests": 2}},
        "odd": "set()",
    }


def test_an_output_file_is_complete_or_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "decision-log.jsonl"
    with atomic_output(dest) as out:
        out.write(b'{"n":1}\n')
        assert not dest.exists()  # nothing visible before the end
    assert dest.read_bytes() == b'{"n":1}\n'
    for interruption in (KeyboardInterrupt, OSError):

        def write_and_fail(error: type[BaseException] = interruption) -> None:
            with atomic_output(dest) as out:
                out.write(b'{"n":2}\n{"trunc')
                raise error

        with pytest.raises(interruption):
            write_and_fail()
        assert dest.read_bytes() == b'{"n":1}\n'
        assert not partial_path(dest).exists()
