"""The service memory benchmark's pure pieces: its web's answers, /proc parsing, the summary."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.service_memory import (
    MAX_URLS_PER_ORIGIN,
    Memory,
    RobotsAnswer,
    Sample,
    batches,
    budgets,
    host_name,
    origin_urls,
    parse_cpu_seconds,
    parse_status,
    proxy_answer,
    robots_answer,
    robots_body,
    sample_at,
    summarise,
    summary_lines,
)
from optout_service.config import RobotsSettings

FILES = [b"User-agent: *\nDisallow: /private/\n", b"User-agent: *\nAllow: /", b""]

STATUS = """Name:\tpython
Umask:\t0022
State:\tS (sleeping)
Pid:\t4242
Uid:\t0\t0\t0\t0
Groups:\t0
VmPeak:\t  912344 kB
VmSize:\t  850000 kB
VmHWM:\t  210400 kB
VmRSS:\t  180224 kB
RssAnon:\t  150528 kB
RssFile:\t   29696 kB
RssShmem:\t       0 kB
Threads:\t7
"""


def test_each_host_always_gets_the_same_answer() -> None:
    for n in range(200):
        host = host_name(n)
        assert robots_answer(host, 4231) == robots_answer(host, 4231)
        assert robots_answer(host.upper(), 4231) == robots_answer(host, 4231)
        answer = robots_answer(host, len(FILES))
        assert robots_body(host, answer, FILES) == robots_body(host, answer, FILES)


def test_the_answers_cover_200_404_and_503_in_their_shares() -> None:
    answers = [robots_answer(host_name(n), 4231) for n in range(10_000)]
    shares = Counter((a.status, a.unique) for a in answers)
    assert shares[(404, False)] == pytest.approx(500, rel=0.2)
    assert shares[(503, False)] == pytest.approx(300, rel=0.25)
    assert shares[(200, False)] == pytest.approx(3000, rel=0.1)
    assert shares[(200, True)] == pytest.approx(6200, rel=0.1)
    assert set(shares) == {(404, False), (503, False), (200, False), (200, True)}
    # Many files of the corpus are used, not a few.
    assert len({a.corpus_index for a in answers if a.status == 200}) > 3000


def test_bodies_are_corpus_files_shared_or_made_unique_by_a_comment() -> None:
    shared = robots_body("a.memweb.test", RobotsAnswer(200, 0), FILES)
    assert shared == FILES[0]
    unique = robots_body("a.memweb.test", RobotsAnswer(200, 0, unique=True), FILES)
    assert unique == FILES[0] + b"# robots.txt of a.memweb.test\n"
    assert robots_body("b.memweb.test", RobotsAnswer(200, 0, unique=True), FILES) != unique
    # A file without a final newline gets one before the comment, so no rule is changed.
    unterminated = robots_body("a.memweb.test", RobotsAnswer(200, 1, unique=True), FILES)
    assert unterminated == b"User-agent: *\nAllow: /\n# robots.txt of a.memweb.test\n"
    assert robots_body("a.memweb.test", RobotsAnswer(404), FILES) == b"404 Not Found\n"
    with pytest.raises(ValueError, match="empty"):
        robots_answer("a.memweb.test", 0)


def test_the_proxy_answers_absolute_form_requests_for_any_host() -> None:
    host = next(
        host_name(n) for n in range(1000) if robots_answer(host_name(n), len(FILES)).status == 200
    )
    head = f"GET http://{host}/robots.txt HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    answer = proxy_answer(head, FILES)
    expected = robots_body(host, robots_answer(host, len(FILES)), FILES)
    assert (answer.status, answer.body, answer.keep_alive) == (200, expected, True)
    encoded = answer.encode()
    assert encoded.startswith(b"HTTP/1.1 200 OK\r\n")
    assert f"Content-Length: {len(expected)}\r\n".encode() in encoded
    assert encoded.endswith(b"\r\n\r\n" + expected)
    # Origin form takes the host from the Host header.
    origin_form = f"GET /robots.txt HTTP/1.1\r\nHost: {host}:80\r\n\r\n".encode()
    assert proxy_answer(origin_form, FILES).body == expected


def test_the_proxy_statuses_and_connection_handling() -> None:
    for n in range(2000):
        host = host_name(n)
        status = robots_answer(host, len(FILES)).status
        head = f"GET http://{host}/robots.txt HTTP/1.1\r\n\r\n".encode()
        assert proxy_answer(head, FILES).status == status
    page = proxy_answer(b"GET http://a.memweb.test/news/ HTTP/1.1\r\n\r\n", FILES)
    assert page.status == 404
    closing = b"GET http://a.memweb.test/robots.txt HTTP/1.1\r\nConnection: close\r\n\r\n"
    assert not proxy_answer(closing, FILES).keep_alive
    assert not proxy_answer(
        b"GET http://a.memweb.test/robots.txt HTTP/1.0\r\n\r\n", FILES
    ).keep_alive
    connect = proxy_answer(b"CONNECT a.memweb.test:443 HTTP/1.1\r\n\r\n", FILES)
    assert (connect.status, connect.keep_alive) == (405, False)
    assert proxy_answer(b"nonsense\r\n\r\n", FILES).status == 405
    head_only = proxy_answer(b"HEAD http://a.memweb.test/robots.txt HTTP/1.1\r\n\r\n", FILES)
    assert head_only.encode().endswith(b"\r\n\r\n")


def test_origins_get_one_to_three_urls_and_batches_never_split_an_origin() -> None:
    counts = Counter(len(origin_urls(n)) for n in range(3000))
    assert set(counts) == set(range(1, MAX_URLS_PER_ORIGIN + 1))
    assert origin_urls(7) == origin_urls(7)
    assert all(url.startswith("http://o7.memweb.test/") for url in origin_urls(7))
    made = list(batches(1000, 64))
    assert sum(count for count, _ in made) == 1000
    assert all(0 < len(urls) <= 64 for _, urls in made)
    seen: set[str] = set()
    for _, urls in made:
        hosts = {url.split("/")[2] for url in urls}
        assert not hosts & seen  # each origin in exactly one batch
        seen |= hosts
    assert len(seen) == 1000
    with pytest.raises(ValueError, match="cannot hold"):
        list(batches(10, 2))


def test_the_status_parser_reads_rss_anon_and_peak() -> None:
    assert parse_status(STATUS) == Memory(rss_kib=180224, anon_kib=150528, hwm_kib=210400)
    # A kernel without RssAnon: the heap figure falls back on VmRSS.
    older = "\n".join(line for line in STATUS.splitlines() if not line.startswith("RssAnon"))
    assert parse_status(older).anon_kib == 180224
    with pytest.raises(ValueError, match="VmRSS"):
        parse_status("Name:\tpython\nVmHWM:\t 1 kB\n")
    with pytest.raises(ValueError, match="unexpected VmRSS"):
        parse_status("VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n")


def test_the_cpu_parser_skips_a_command_name_with_spaces() -> None:
    stat = "4242 (python -m x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1"
    assert parse_cpu_seconds(stat, 100) == pytest.approx(3.0)


def _sample(origins: int, rss_mib: float) -> Sample:
    kib = round(rss_mib * 1024)
    return Sample(origins, origins * 2, origins / 1000, Memory(kib, kib, kib))


def test_the_summary_takes_the_first_sample_at_each_point_and_scales_the_growth() -> None:
    samples = [
        _sample(n, 100 + (n / 1000 if n <= 30_000 else 30)) for n in range(5000, 100_001, 5000)
    ]
    assert sample_at(samples, 10, 100_000).origins == 10_000
    assert sample_at(samples, 12, 100_000).origins == 15_000
    summary = summarise(samples, 100_000)
    assert [summary.at[p].origins for p in (10, 50, 100)] == [10_000, 50_000, 100_000]
    assert summary.at[10].rss_mib == pytest.approx(110)
    assert summary.at[100].rss_mib == pytest.approx(130)
    assert summary.growth_mib == pytest.approx(20)
    assert summary.growth_per_10k == pytest.approx(20 / 9)
    # From the middle point on the run is flat (the caches were full at 30,000 origins).
    assert summary.late_growth_mib == pytest.approx(0)
    assert summary.late_growth_per_10k == pytest.approx(0)
    lines = summary_lines(summary, budgets(None, None, None), 100_000)
    assert lines[0].startswith("cache budgets: parsed_cache_bytes=67108864 (64 MiB)")
    assert "rss at  50% (50,000 origins): 130.0 MiB" in lines[2]
    assert (
        lines[-2]
        == "growth from 10,000 to 100,000 origins: +20.0 MiB, +2.22 MiB per 10,000 origins"
    )
    assert (
        lines[-1] == "growth from 50,000 to 100,000 origins: +0.0 MiB, +0.00 MiB per 10,000 origins"
    )
    flat = summarise([_sample(n, 200) for n in range(1000, 20_001, 1000)], 20_000)
    assert flat.growth_mib == 0
    assert flat.growth_per_10k == 0
    # A single sample: no span, no growth rate.
    assert summarise([_sample(500, 90)], 500).growth_per_10k == 0
    with pytest.raises(ValueError, match="no samples"):
        sample_at([], 10, 100)


def test_budgets_default_to_the_settings_and_are_always_all_given() -> None:
    defaults = RobotsSettings()
    assert budgets(None, None, None) == {
        "parsed_cache_bytes": defaults.parsed_cache_bytes,
        "origin_cache_bytes": defaults.origin_cache_bytes,
        "max_cached_origins": defaults.max_cached_origins,
    }
    assert budgets(8, 0.5, 1000) == {
        "parsed_cache_bytes": 8 * 1024 * 1024,
        "origin_cache_bytes": 512 * 1024,
        "max_cached_origins": 1000,
    }
