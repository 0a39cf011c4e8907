"""The robots.txt engine's budgets: linear structures, bounded lookups, fail-closed cuts.

No test here measures time: each checks a count or a size that the budget bounds (references
held by the index, substring searches per lookup, traced bytes), so they are deterministic.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.robots_budget import adversarial_files
from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import (
    MAX_AGENT_SETS,
    MAX_CACHED_TOKENS,
    MAX_CRAWL_DELAY,
    MAX_RULES_PER_GROUP,
    MAX_SEGMENTS,
    MAX_WILDCARD_CHECKS,
    AgentRules,
    RobotsTxt,
    Rule,
    make_rule,
    normalise_pattern,
)
from tests.unit.optout_service.test_robots_corpus import corpus_texts

# docs/robots.md, "Budgets": what one parsed file may hold (and its estimate may say), and the
# traced peak while it is parsed and indexed by its first lookups.
KEPT_BYTES_PER_INPUT_BYTE = 30
KEPT_FIXED_BYTES = 4 * 1024
PEAK_BYTES_PER_INPUT_BYTE = 32
PEAK_FIXED_BYTES = 1024 * 1024


def index_references(agent: AgentRules) -> int:
    """Rule references held by an agent's bucket index (buckets and the short-rule list)."""
    buckets = agent._buckets or {}
    return sum(len(bucket) for bucket in buckets.values()) + len(agent._short)


def short_and_long(pairs: int) -> str:
    """The shape that made the old index quadratic: every short rule was filed in every bucket."""
    lines = ["User-agent: *"]
    for i in range(pairs):
        lines.append(f"Allow: /{chr(97 + i % 26)}")
        lines.append(f"Disallow: /{i:05d}/page")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("pairs", [100, 1_000, 10_000])
def test_the_index_files_each_rule_once(pairs: int) -> None:
    robots = RobotsTxt.parse(short_and_long(pairs))
    agent = robots.rules_for("ExampleBot")
    assert not agent.allows("/00007/page")
    assert agent.allows("/a/x")
    assert index_references(agent) == 2 * pairs


def test_a_500_kib_file_stays_under_the_memory_ceiling() -> None:
    text = adversarial_files()["short and long rules"]
    size = len(text.encode())
    tracemalloc.start()
    try:
        robots = RobotsTxt.parse(text)
        robots.allowed("/abc/x", "ExampleBot")  # builds the index too
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size >= 500 * 1024
    assert peak <= PEAK_BYTES_PER_INPUT_BYTE * size + PEAK_FIXED_BYTES
    # The estimate the caches account never falls short of what the file really holds.
    assert current <= robots.estimated_bytes()
    assert robots.estimated_bytes() <= KEPT_BYTES_PER_INPUT_BYTE * size + KEPT_FIXED_BYTES


def test_the_densest_file_stays_under_the_memory_ceiling() -> None:
    # The most rules per byte ("allow:/a"), a group big enough to be indexed for two agents,
    # CR line ends and a character that makes the decoded text four bytes a character.
    text = (
        "#\U0001f600\rUser-agent: examplebot\rUser-agent: googlebot\r"
        + "".join(f"allow:/{chr(97 + i % 26)}\r" for i in range(MAX_RULES_PER_GROUP - 10))
        + "User-agent: googlebot\rallow:/b\r"
    )
    body = text.encode()
    tracemalloc.start()
    try:
        robots = RobotsTxt.parse(decode_robots(body))
        for agent in ("ExampleBot", "Googlebot"):
            assert robots.allowed("/a", agent)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= PEAK_BYTES_PER_INPUT_BYTE * len(body) + PEAK_FIXED_BYTES
    assert current <= robots.estimated_bytes()
    assert robots.estimated_bytes() <= KEPT_BYTES_PER_INPUT_BYTE * len(body) + KEPT_FIXED_BYTES


def test_the_size_estimate_covers_what_adversarial_files_hold() -> None:
    for name, text in adversarial_files().items():
        if len(text) > 600_000:
            continue
        shrunk = text[: 64 * 1024]  # same shapes, a quick trace
        tracemalloc.start()
        try:
            robots = RobotsTxt.parse(shrunk)
            robots.allowed("/a", "ExampleBot")
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert held <= robots.estimated_bytes(), name


def test_the_size_estimate_covers_what_real_files_hold() -> None:
    for text in corpus_texts()[::20]:
        tracemalloc.start()
        try:
            robots = RobotsTxt.parse(text)
            for agent in ("ExampleBot", "Googlebot"):  # two agents: both indexes built
                robots.allowed("/a/b?c", agent)
            held = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert held <= robots.estimated_bytes(), text[:200]


def test_asking_many_agents_keeps_a_bounded_number_of_indexes() -> None:
    text = "".join(
        f"User-agent: bot{chr(97 + i)}\nDisallow: /{i}/\nAllow: /{i}/x\n" for i in range(26)
    )
    robots = RobotsTxt.parse(text * 4)
    for i in range(26):
        for suffix in ("", "-a", "-b", "-c"):
            agent = f"bot{chr(97 + i)}{suffix}"
            assert robots.allowed(f"/{i}/y", agent) is (suffix != "")
            assert robots.allowed(f"/{i}/x", agent)
    assert len(robots._merged) <= MAX_AGENT_SETS
    assert len(robots._cache) <= MAX_CACHED_TOKENS


def test_an_agent_beyond_the_indexed_ones_gets_the_same_answers() -> None:
    text = short_and_long(50) + "User-agent: one\nDisallow: /1\nUser-agent: two\nDisallow: /2\n"
    robots = RobotsTxt.parse(text)
    robots.allowed("/", "one")
    robots.allowed("/", "two")  # the indexed sets are taken
    unindexed = robots.rules_for("ExampleBot")
    indexed = RobotsTxt.parse(text).rules_for("ExampleBot")
    for path in ("/00003/page", "/a", "/b/x", "/zz", "/00049/page/x", "/"):
        assert unindexed.match(path) == indexed.match(path), path


def test_a_pattern_keeps_at_most_max_segments() -> None:
    pattern = "/" + "a*" * 40 + "b$"
    cut = make_rule(False, pattern, 7)
    assert cut is not None
    assert len(cut.segments) == MAX_SEGMENTS
    assert not cut.anchored  # what followed the cut may be anything
    assert cut.line == 7
    assert cut.matches("/" + "a" * 16)  # more than the whole pattern: never a wrong allow
    assert not cut.matches("/" + "a" * 15)
    assert make_rule(True, pattern, 7) is None  # an allow cut short would allow too much
    assert make_rule(True, "/" + "a*" * (MAX_SEGMENTS - 1), 1) is not None


def full_match(pattern: str, path: str) -> bool:
    """RFC 9309 matching with no budget ('*' is any sequence, a final '$' anchors), by walking
    the set of pattern positions the path can reach: independent of the engine's method."""
    normalised = normalise_pattern(pattern)
    anchored = normalised.endswith("$")
    body = normalised[:-1] if anchored else normalised
    end = len(body)

    def closure(states: set[int]) -> set[int]:
        reached = set(states)
        pending = list(states)
        while pending:
            position = pending.pop()
            if position < end and body[position] == "*" and position + 1 not in reached:
                reached.add(position + 1)
                pending.append(position + 1)
        return reached

    states = closure({0})
    for char in path:
        if not anchored and end in states:
            return True
        states = closure(
            {j if body[j] == "*" else j + 1 for j in states if j < end and body[j] in ("*", char)}
        )
        if not states:
            return False
    return end in states


def reference_allowed(rules: list[tuple[bool, str]], path: str) -> bool:
    best: tuple[int, bool] | None = None
    for allow, pattern in rules:
        normalised = normalise_pattern(pattern)
        if normalised and full_match(pattern, path):
            key = (len(normalised), allow)
            best = key if best is None or key > best else best
    return best is None or best[1]


patterns = st.text(alphabet="ab/*$", min_size=1, max_size=60)


@settings(max_examples=400, deadline=None)
@given(
    rules=st.lists(st.tuples(st.booleans(), patterns), min_size=1, max_size=6),
    path=st.text(alphabet="ab/", max_size=40),
)
def test_cut_patterns_never_turn_a_disallow_into_an_allow(
    rules: list[tuple[bool, str]], path: str
) -> None:
    text = "User-agent: *\n" + "".join(
        f"{'Allow' if allow else 'Disallow'}: {pattern}\n" for allow, pattern in rules
    )
    ours = RobotsTxt.parse(text).allowed("/" + path, "FooBot")
    expected = reference_allowed(rules, "/" + path)
    if not expected:
        assert not ours
    if all(re.sub(r"\*+", "*", p).count("*") < MAX_SEGMENTS for _, p in rules):
        assert ours is expected  # nothing was cut: exactly the RFC's answer


@settings(max_examples=300, deadline=None)
@given(
    pattern=st.text(alphabet="ab*", min_size=1, max_size=40).map(lambda s: "/" + s),
    anchored=st.booleans(),
    path=st.text(alphabet="ab", max_size=30).map(lambda s: "/" + s * 30),
)
def test_long_paths_match_as_short_ones_do(pattern: str, anchored: bool, path: str) -> None:
    # Paths over 256 characters are searched with padding behind them: the same answers.
    pattern += "$" if anchored else ""
    rule = make_rule(False, pattern, 1)
    assert rule is not None
    if len(rule.segments) < MAX_SEGMENTS:
        assert rule.matches(path) is full_match(pattern, path)


def counted_searches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts wildcard matches run (each at most MAX_SEGMENTS substring searches)."""
    calls = [0]
    real = Rule.matches

    def counting(rule: Rule, path: str) -> bool:
        calls[0] += 1
        return real(rule, path)

    monkeypatch.setattr(Rule, "matches", counting)
    return calls


def test_a_lookup_runs_a_bounded_number_of_substring_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = "".join(f"Disallow: /*q{i}*z\n" for i in range(3 * MAX_WILDCARD_CHECKS))
    robots = RobotsTxt.parse("User-agent: *\n" + rules)
    calls = counted_searches(monkeypatch)
    path = "/" + "q" * 4000 + "z"
    # Past the budget a wildcard disallow is taken to match: the stricter reading.
    assert not robots.allowed(path, "FooBot")
    assert calls[0] <= MAX_WILDCARD_CHECKS


def test_past_the_search_budget_a_wildcard_allow_never_matches() -> None:
    # Patterns of one length are checked in file order.
    rules = "".join(f"Allow: /*q{i:05d}*z\n" for i in range(MAX_WILDCARD_CHECKS + 10))
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /\n" + rules)
    # Only the last allow matches; it is past the budget, so "Disallow: /" decides.
    assert not robots.allowed(f"/q{MAX_WILDCARD_CHECKS + 9:05d}z", "FooBot")
    assert robots.allowed("/q00000z", "FooBot")  # within the budget: read as written


def test_deep_star_runs_against_a_long_path_cost_a_bounded_number_of_searches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    robots = RobotsTxt.parse("User-agent: *\nDisallow: /" + "a*" * 8000 + "b\n" * 30)
    assert all(len(rule.segments) <= MAX_SEGMENTS for rule in robots.groups[0].rules)
    calls = counted_searches(monkeypatch)
    assert not robots.allowed("/" + "a" * 8000 + "b", "FooBot")
    assert calls[0] <= 30


def test_a_group_with_too_many_rules_fails_closed() -> None:
    text = "User-agent: *\nAllow: /\n" + "Allow: /a\n" * MAX_RULES_PER_GROUP + "Disallow: /secret\n"
    robots = RobotsTxt.parse(text)
    found = robots.match("/secret", "FooBot")
    assert not found.allowed  # the cut rules could have said so
    assert found.rule is not None
    assert found.rule.line == MAX_RULES_PER_GROUP + 2  # the first line that was not read
    assert not robots.allowed("/a", "FooBot")
    assert robots.allowed("/robots.txt", "FooBot")
    assert len(robots.groups[0].rules) == MAX_RULES_PER_GROUP + 1
    other = RobotsTxt.parse(text + "User-agent: OtherBot\nDisallow: /x\n")
    assert other.allowed("/y", "OtherBot")  # other groups are read as written


@pytest.mark.parametrize(
    ("line", "delay"),
    [
        ("Crawl-delay: 1e999", MAX_CRAWL_DELAY),
        ("Crawl-delay: " + "9" * 5000, MAX_CRAWL_DELAY),
        ("Crawl-delay: infinity", MAX_CRAWL_DELAY),
        ("Crawl-delay: 86401", MAX_CRAWL_DELAY),
        ("Crawl-delay: 12.5", 12.5),
        ("Crawl-delay: nan", None),
        ("Crawl-delay: -3", None),
    ],
)
def test_huge_crawl_delays_are_read_as_the_maximum(line: str, delay: float | None) -> None:
    robots = RobotsTxt.parse(f"User-agent: *\n{line}\nDisallow: /x\n")
    assert robots.crawl_delay("FooBot") == delay


@pytest.mark.parametrize(
    ("value", "rate"),
    [
        ("1" * 5000 + "/1", None),  # too many requests to be a limit (and never a crash)
        ("1/" + "9" * 5000, (1, MAX_CRAWL_DELAY)),
        ("2/1e999", (2, 1.0)),  # read up to what is a number, as before
        ("3/10m", (3, 600.0)),
    ],
)
def test_huge_request_rates_parse(value: str, rate: tuple[int, float] | None) -> None:
    robots = RobotsTxt.parse(f"User-agent: *\nRequest-rate: {value}\n")
    assert robots.request_rate("FooBot") == rate


def many_lines(count: int) -> Iterator[str]:
    for i in range(count):
        yield f"Disallow: /{i}\n"


def test_lines_are_numbered_across_blocks() -> None:
    text = "User-agent: *\n" + "".join(many_lines(30_000)) + "Allow: /last\n"
    robots = RobotsTxt.parse(text)
    found = robots.match("/29999", "FooBot")
    assert found.rule is not None
    assert found.rule.line == 30_001
    last = robots.match("/last", "FooBot")
    assert last.rule is not None
    assert last.rule.line == 30_002
    assert robots.lines == 30_003  # the empty line after the final newline


def test_a_body_cut_mid_character_still_parses() -> None:
    body = ("User-agent: *\nDisallow: /ツ\n" * 10).encode()[:-2]
    robots = RobotsTxt.parse(decode_robots(body))
    assert not robots.allowed("/%E3%83%84", "FooBot")
