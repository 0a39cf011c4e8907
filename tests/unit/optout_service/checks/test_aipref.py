"""IETF AIPREF: Content-Usage rules in robots.txt and the Content-Usage response header.

The examples and normative statements come from draft-ietf-aipref-vocab-08 ("vocab") and
draft-ietf-aipref-attach-05 ("attach"), https://datatracker.ietf.org/doc/draft-ietf-aipref-vocab/
and https://datatracker.ietf.org/doc/draft-ietf-aipref-attach/; the labels of earlier drafts from
draft-ietf-aipref-vocab-01 to -06. Where our reading is stricter than the drafts' letter (the
module docstring says why), the table says so next to the case.
"""

from __future__ import annotations

import time

import pytest

from optout_service.checks.aipref import (
    LABELS,
    MAX_RULES,
    SIGNAL,
    SIGNALS,
    ContentUsageCheck,
    ContentUsageHeaderCheck,
    Reason,
    read_expression,
    split_scope,
)
from optout_service.checks.base import Asset, Document, Finding, Site
from optout_service.checks.combine import combine
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.purposes import ALL_PURPOSES, Purpose

TOKEN = "ExampleBot"
T, INPUT, S = Purpose.TRAIN_AI, Purpose.AI_INPUT, Purpose.SEARCH


def site(body: bytes | str, token: str = TOKEN, outcome: FetchOutcome = FetchOutcome.OK) -> Site:
    raw = body.encode() if isinstance(body, str) else body
    status = {FetchOutcome.OK: 200, FetchOutcome.CLIENT_ERROR: 404}.get(outcome, 503)
    rules = RobotsRules(outcome, raw, status)
    document = Document(
        kind="robots_txt",
        url="https://example.com/robots.txt",
        outcome=outcome,
        status=status,
        parsed=rules,
    )
    return Site(
        origin="https://example.com",
        token=token,
        purposes=frozenset({T}),
        documents={"robots_txt": document},
    )


def asset(*values: str, name: str = "Content-Usage") -> Asset:
    return Asset(
        url="https://example.com/page",
        final_url="https://example.com/page",
        status=200,
        headers=[("Content-Type", "text/html"), *((name, v) for v in values)],
        content_type="text/html",
        html=None,
        token=TOKEN,
        purposes=frozenset({T}),
    )


def robots_findings(body: bytes | str, path: str = "/", token: str = TOKEN) -> list[Finding]:
    return list(ContentUsageCheck().check(site(body, token), path))


def states(findings: list[Finding]) -> dict[Purpose, str]:
    return {p: r.state for p, r in combine(findings, list(Purpose)).by_purpose.items()}


def reasons(findings: list[Finding]) -> set[str]:
    return {f.reason for f in findings}


def in_group(expression: str) -> str:
    return f"User-Agent: *\nAllow: /\nContent-Usage: {expression}\n"


# (expression, expected state of train-ai / ai-input / search, reasons that must appear, source)
EXPRESSIONS = [
    # vocab-08 "Exemplary Serialization Format": allow training, disallow search.
    ("train-ai=y, search=n", ("allowed", "unknown", "reserved"), {Reason.TRAIN_AI_YES}),
    # vocab-08 "Usage Category Labels": the three labels, each y and n.
    ("train-ai=n", ("reserved", "unknown", "unknown"), {Reason.TRAIN_AI_NO}),
    ("ai-use=n", ("unknown", "reserved", "unknown"), {Reason.AI_USE_NO}),
    ("search=n", ("unknown", "unknown", "reserved"), {Reason.SEARCH_NO}),
    ("ai-use=y", ("unknown", "allowed", "unknown"), {Reason.AI_USE_YES}),
    # vocab-08 "Search": search=y covers search applications only; it never licenses training.
    ("search=y", ("unknown", "unknown", "allowed"), {Reason.SEARCH_YES}),
    ("train-ai=n, search=y", ("reserved", "unknown", "allowed"), {Reason.SEARCH_YES}),
    # vocab-08 "Multiple Preferences": per RFC 9651 only the last value of a key counts, so the
    # draft reads this as all unknown. Ours is stricter: the earlier search=n (and the string
    # "n") still reserve search; train-ai (a boolean last) stays unknown.
    (
        'train-ai=y, train-ai, search=n, search="n"',
        ("unknown", "unknown", "reserved"),
        {Reason.DUPLICATE_LABEL, Reason.BAD_VALUE},
    ),
    # vocab-08 "Preference Parameters": the parameters of the discarded first member do not
    # apply; the preference is to allow.
    ("train-ai;allow=n, train-ai=y", ("allowed", "unknown", "unknown"), {Reason.TRAIN_AI_YES}),
    # vocab-08 "Preference Parameters": parameters on an unknown preference (the example's
    # trailing ';' makes the Dictionary invalid under RFC 9651: unknown either way).
    ('train-ai;has;parameters="?";', ("unknown", "unknown", "unknown"), {Reason.MALFORMED}),
    # vocab-08 "Syntax Extensions": unknown parameters MUST be ignored.
    ('train-ai=n;why="licence"', ("reserved", "unknown", "unknown"), {Reason.TRAIN_AI_NO}),
    # vocab-08 "Syntax Extensions": unknown labels MUST be ignored (and we note them).
    ("x-custom=n, train-ai=y", ("allowed", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    # vocab-08 "Processing Algorithm": values that are not the Tokens y/n state nothing...
    ("train-ai=1", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("train-ai=?1", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("train-ai=yes", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("train-ai=(y n)", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    # ...stricter: a value that clearly says no still reserves (never permits).
    ("train-ai=N", ("reserved", "unknown", "unknown"), {Reason.BAD_VALUE, Reason.TRAIN_AI_NO}),
    ("train-ai=no", ("reserved", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ('train-ai="n"', ("reserved", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("train-ai=?0", ("reserved", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("train-ai=Y", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    # vocab-08 "Processing Algorithm": a Dictionary that fails to parse (upper-case keys) states
    # nothing. Stricter: its clear noes reserve; its y never permits.
    ("Train-AI=n", ("reserved", "unknown", "unknown"), {Reason.MALFORMED, Reason.TRAIN_AI_NO}),
    ("TRAIN-AI=y", ("unknown", "unknown", "unknown"), {Reason.MALFORMED}),
    ("train-ai = n", ("reserved", "unknown", "unknown"), {Reason.MALFORMED}),
    ("train-ai=n,", ("reserved", "unknown", "unknown"), {Reason.MALFORMED}),
    ("train-ai=y,", ("unknown", "unknown", "unknown"), {Reason.MALFORMED}),
    ("train-ai=n search=y", ("reserved", "unknown", "unknown"), {Reason.MALFORMED}),
    ("\u00fcber=n, train-ai=n", ("reserved", "unknown", "unknown"), {Reason.MALFORMED}),
    ("%%%", ("unknown", "unknown", "unknown"), {Reason.MALFORMED}),
    # Earlier drafts. vocab-02..06 "all-bots"/"ai-output" branches: this example allowed AI
    # training but disallowed generative AI training; our train-ai purpose is within the
    # latter, so it is reserved.
    (
        "train-ai=y, train-genai=n",
        ("reserved", "unknown", "unknown"),
        {Reason.TRAIN_GENAI_NO, Reason.TRAIN_AI_YES},
    ),
    # Same drafts, "Processing Algorithm": the old drafts read this as no preference at all
    # (last values only); stricter, every earlier n still reserves.
    (
        'train-ai=y, train-ai="n", train-genai=n, train-genai, bots=n, bots=()',
        ("reserved", "reserved", "reserved"),
        {Reason.BOTS_NO, Reason.TRAIN_GENAI_NO, Reason.DUPLICATE_LABEL},
    ),
    # Automated Processing set to n reserves everything it contained...
    ("bots=n", ("reserved", "reserved", "reserved"), {Reason.BOTS_NO}),
    ("all=n", ("reserved", "reserved", "reserved"), {Reason.ALL_NO}),
    ("tdm=n", ("reserved", "reserved", "reserved"), {Reason.TDM_NO}),
    # ...except a category the same expression states explicitly: the old drafts (the more
    # specific preference wins) and vocab-08 (bots is ignored) agree on that.
    ("bots=n, search=y", ("reserved", "reserved", "allowed"), {Reason.BOTS_NO}),
    ("tdm=n, train-ai=y", ("allowed", "reserved", "reserved"), {Reason.TDM_NO}),
    ("ai-output=n, search=y", ("unknown", "reserved", "allowed"), {Reason.AI_OUTPUT_NO}),
    ("ai-output=n", ("unknown", "reserved", "reserved"), {Reason.AI_OUTPUT_NO}),
    ("ai=n", ("reserved", "unknown", "unknown"), {Reason.AI_NO}),
    ("genai=n", ("reserved", "unknown", "unknown"), {Reason.GENAI_NO}),
    # A same-level legacy n is not lifted by the current label: conflicting, so reserved.
    ("ai=n, train-ai=y", ("reserved", "unknown", "unknown"), {Reason.AI_NO}),
    # A broad y never permits more than vocab-08 says: nothing.
    ("bots=y", ("unknown", "unknown", "unknown"), {Reason.LEGACY_YES}),
    ("train-genai=y", ("unknown", "unknown", "unknown"), {Reason.LEGACY_YES}),
    ("all=y, train-ai=n", ("reserved", "unknown", "unknown"), {Reason.LEGACY_YES}),
    # Content Signals names in a Content-Usage value: their no reserves, their yes permits not.
    ("ai-train=no, ai-input=no", ("reserved", "reserved", "unknown"), {Reason.AI_TRAIN_NO}),
    ("ai-train=n", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ("ai-train=y", ("unknown", "unknown", "unknown"), {Reason.LEGACY_YES}),
]


@pytest.mark.parametrize(("expression", "expected", "codes"), EXPRESSIONS)
def test_expressions_in_robots_and_header(
    expression: str, expected: tuple[str, str, str], codes: set[str]
) -> None:
    for findings in (
        robots_findings(in_group(expression), "/page"),
        list(ContentUsageHeaderCheck().check(asset(expression))),
    ):
        got = states(findings)
        assert (got[T], got[INPUT], got[S]) == expected, findings
        assert codes <= reasons(findings), findings


def test_unknown_label_note_names_the_label() -> None:
    # The brief's contract: aipref.unknown_label, detail = the label.
    findings = robots_findings(in_group("x-custom=n, other=y"), "/")
    details = {f.detail for f in findings if f.reason == Reason.UNKNOWN_LABEL}
    assert details == {"x-custom", "other"}
    assert all(not (f.reserves or f.allows) for f in findings)


# attach-05 section 3.4, Figure 2 and Table 1 (crawl column: the robots check's business).
ATTACH_FIGURE_2 = """User-Agent: *
Allow: /
Disallow: /never/
Content-Usage: train-ai=n
Content-Usage: /ai-ok/ train-ai=y

User-Agent: ExampleBot
Allow: /
Content-Usage: train-ai=y
"""
# attach-02 section 3.4: the same file when the path was still required.
ATTACH_02_FIGURE = ATTACH_FIGURE_2.replace("Content-Usage: train-ai=", "Content-Usage: / train-ai=")
TABLE_1 = [
    ("OtherBot", "/test", "reserved"),
    ("OtherBot", "/never/test", "reserved"),  # not crawlable: no fetch, whatever we say
    ("OtherBot", "/ai-ok/test", "allowed"),
    ("ExampleBot", "/test", "allowed"),
    ("ExampleBot", "/never/test", "allowed"),
    ("ExampleBot", "/ai-ok/test", "allowed"),
]


@pytest.mark.parametrize("body", [ATTACH_FIGURE_2, ATTACH_02_FIGURE])
@pytest.mark.parametrize(("token", "path", "state"), TABLE_1)
def test_attach_example_table(body: str, token: str, path: str, state: str) -> None:
    assert states(robots_findings(body, path, token))[T] == state
    rules = RobotsRules(FetchOutcome.OK, body.encode(), 200)
    if token == "OtherBot" and path.startswith("/never/"):
        assert not rules.evaluate(path, token).allowed  # Table 1: "Crawl: no"


def test_attach_introduction_examples() -> None:
    # attach-05 section 1.2: the header and the robots.txt rule say the same.
    header = list(ContentUsageHeaderCheck().check(asset("train-ai=n")))
    robots = robots_findings("User-Agent: *\nAllow: /\nContent-Usage: train-ai=n\n", "/x")
    assert reasons(header) == reasons(robots) == {Reason.TRAIN_AI_NO}
    assert states(header)[T] == states(robots)[T] == "reserved"


# (robots.txt, path, expected train-ai state, where the rule comes from)
PATHS = [
    # attach-05 3.1: longest matching path wins, as for Allow/Disallow.
    ("Content-Usage: / train-ai=n\nContent-Usage: /a/ train-ai=y", "/a/b", "allowed"),
    ("Content-Usage: / train-ai=n\nContent-Usage: /a/ train-ai=y", "/b", "reserved"),
    ("Content-Usage: /a/ train-ai=n\nContent-Usage: / train-ai=y", "/a/b", "reserved"),
    # attach-05 3.1: identical paths with conflicting preferences combine (vocab "Combining
    # Preferences"): the most restrictive applies, unlike Allow/Disallow.
    ("Content-Usage: /a/ train-ai=y\nContent-Usage: /a/ train-ai=n", "/a/b", "reserved"),
    # Our reading: an absent path is the path "/" (it combines with an explicit "/").
    ("Content-Usage: train-ai=y\nContent-Usage: / train-ai=n", "/x", "reserved"),
    # Equal-length patterns that both match combine as well.
    ("Content-Usage: /a* train-ai=y\nContent-Usage: /ab train-ai=n", "/abc", "reserved"),
    # attach-05 3.1: "the same path prefix matching rules" as RFC 9309: '*' and '$'.
    ("Content-Usage: /*.pdf$ train-ai=n", "/docs/a.pdf", "reserved"),
    ("Content-Usage: /*.pdf$ train-ai=n", "/docs/a.pdf?x=1", "unknown"),
    ("Content-Usage: /private train-ai=n", "/private-notes", "reserved"),
    ("Content-Usage: /private/ train-ai=n", "/privatex", "unknown"),
    # attach-05 3.1: paths use the percent-encoding of Allow/Disallow (RFC 3986 2.1).
    ("Content-Usage: /caf\u00e9/ train-ai=n", "/caf%C3%A9/menu", "reserved"),
    ("Content-Usage: /a%20b/ train-ai=n", "/a%20b/c", "reserved"),
    ("Content-Usage: /%7Euser/ train-ai=n", "/~user/x", "reserved"),
    # attach-05 3.2: the path ends at SP or HTAB.
    ("Content-Usage: /tab/\ttrain-ai=n", "/tab/x", "reserved"),
    ("Content-Usage:    /spaces/    train-ai=n   ", "/spaces/x", "reserved"),
    # attach-05 3.2: the value ends at '#' (a comment).
    ("Content-Usage: /c/ train-ai=y # train-ai=n", "/c/x", "allowed"),
    # attach-05 3.1: rule order carries no meaning; interleaving with Allow/Disallow is fine.
    (
        "Content-Usage: /z/ train-ai=n\nDisallow: /q\nContent-Usage: / train-ai=y",
        "/z/1",
        "reserved",
    ),
    # The key is case-insensitive like every robots.txt key (RFC 9309 2.2).
    ("CONTENT-USAGE: train-ai=n", "/", "reserved"),
    ("content-usage:train-ai=n", "/", "reserved"),
]


@pytest.mark.parametrize(("lines", "path", "state"), PATHS)
def test_paths(lines: str, path: str, state: str) -> None:
    body = f"User-agent: *\nAllow: /\n{lines}\n"
    assert states(robots_findings(body, path))[T] == state


def test_split_scope() -> None:
    # attach-05 3.2: a value starting with '/' has a path up to the first SP/HTAB.
    assert split_scope("/a/ train-ai=n") == ("/a/", "train-ai=n")
    assert split_scope("train-ai=n") == ("/", "train-ai=n")
    assert split_scope("/a/\t\t train-ai=n") == ("/a/", "train-ai=n")
    assert split_scope("/only-a-path") == ("/only-a-path", "")


def test_path_without_expression_is_noted() -> None:
    findings = robots_findings("User-agent: *\nContent-Usage: /only-a-path\n", "/only-a-path/x")
    assert reasons(findings) == {Reason.EMPTY}


GROUPS = [
    # RFC 9309 2.2.1: the group naming our token applies, not the '*' group.
    (
        "User-agent: *\nAllow: /\nContent-Usage: train-ai=n\n\nUser-agent: ExampleBot\nAllow: /\n",
        "unknown",
    ),
    (
        "User-agent: *\nAllow: /\nContent-Usage: train-ai=y\n\n"
        "User-agent: examplebot\nContent-Usage: train-ai=n\n",
        "reserved",
    ),
    # RFC 9309 2.2.4 as the parser reads it: only Allow/Disallow end a run of user-agent lines,
    # so a Content-Usage line between two user-agent lines leaves one group for both.
    ("User-agent: *\nContent-Usage: train-ai=n\n\nUser-agent: ExampleBot\nAllow: /\n", "reserved"),
    # Groups naming our token are merged; their rules combine.
    (
        "User-agent: ExampleBot\nContent-Usage: train-ai=y\n\n"
        "User-agent: ExampleBot\nContent-Usage: train-ai=n\n",
        "reserved",
    ),
    # Another crawler's group says nothing to us.
    (
        "User-agent: OtherBot\nAllow: /\nContent-Usage: train-ai=n\n\nUser-agent: *\nAllow: /\n",
        "unknown",
    ),
    # One group for several agents.
    ("User-agent: OtherBot\nUser-agent: ExampleBot\nContent-Usage: train-ai=n\n", "reserved"),
]


@pytest.mark.parametrize(("body", "state"), GROUPS)
def test_groups(body: str, state: str) -> None:
    assert states(robots_findings(body, "/x"))[T] == state


def test_file_level_lines_reserve_but_never_permit() -> None:
    # Our reading of attach-05 3 (rules belong to groups): a file-level line still reserves.
    reserved = robots_findings("Content-Usage: train-ai=n\nUser-agent: *\nAllow: /\n", "/x")
    assert states(reserved)[T] == "reserved"
    assert Reason.OUTSIDE_GROUP in reasons(reserved)
    permitted = robots_findings("Content-Usage: train-ai=y\nUser-agent: *\nAllow: /\n", "/x")
    assert states(permitted)[T] == "unknown"
    assert Reason.OUTSIDE_GROUP in reasons(permitted)
    # A file-level no is not lifted by a group's yes, for any crawler.
    both = robots_findings(
        "Content-Usage: /a/ train-ai=n\nUser-agent: ExampleBot\nContent-Usage: train-ai=y\n",
        "/a/x",
    )
    assert states(both)[T] == "reserved"
    # Only file-level lines whose path matches apply.
    elsewhere = robots_findings("Content-Usage: /a/ train-ai=n\nUser-agent: *\nAllow: /\n", "/b")
    assert states(elsewhere)[T] == "unknown"
    assert Reason.OUTSIDE_GROUP not in reasons(elsewhere)


@pytest.mark.parametrize(
    "outcome", [FetchOutcome.CLIENT_ERROR, FetchOutcome.SERVER_ERROR, FetchOutcome.TIMEOUT]
)
def test_no_robots_body_says_nothing(outcome: FetchOutcome) -> None:
    # No body: the robots check decides (4xx allows, 5xx/timeout disallows everything).
    assert list(ContentUsageCheck().check(site(b"", outcome=outcome), "/")) == []


def test_missing_or_foreign_document() -> None:
    empty = Site("https://example.com", TOKEN, frozenset({T}), {})
    assert list(ContentUsageCheck().check(empty, "/")) == []
    odd = Document("robots_txt", "https://example.com/robots.txt", FetchOutcome.OK, 200, {"x": 1})
    foreign = Site("https://example.com", TOKEN, frozenset({T}), {"robots_txt": odd})
    assert list(ContentUsageCheck().check(foreign, "/")) == []
    assert list(ContentUsageCheck().check(site("User-agent: *\nDisallow: /\n"), "/")) == []


def test_findings_are_deterministic_and_deduplicated() -> None:
    body = in_group("train-ai=n") + "Content-Usage: train-ai=n\nContent-Usage: x=1\n"
    first = robots_findings(body, "/p")
    assert first == robots_findings(body, "/p")
    assert [f.reason for f in first].count(Reason.TRAIN_AI_NO) == 1
    assert [f.reason for f in first].count(Reason.UNKNOWN_LABEL) == 1
    assert "line 3" in (first[0].detail or "")


def test_too_many_rules_reserve_everything() -> None:
    lines = "".join(f"Content-Usage: /p{i}/ train-ai=y\n" for i in range(MAX_RULES + 5))
    findings = robots_findings("User-agent: *\n" + lines, "/p1/x")
    too_many = [f for f in findings if f.reason == Reason.TOO_MANY_RULES]
    assert too_many
    assert too_many[0].reserves == ALL_PURPOSES


def test_hostile_input_never_raises_and_stays_fast() -> None:
    bodies: list[bytes | str] = [
        in_group("a" * 20_000),
        in_group("train-ai=n, " + "x=" * 8_000),
        in_group('"' * 16_000),
        in_group("/" + "a*" * 5_000 + " train-ai=n"),
        b"\xff\xfe\x00garbage\nContent-Usage: \xff\xff train-ai=n\n",
        b"\x00" * 10_000,
        "\ufeffUser-agent: *\nContent-Usage: train-ai=n\n".encode(),
        ("User-agent: *\n" + "Content-Usage: /x train-ai=n\n" * 3000).encode(),
    ]
    start = time.perf_counter()
    for body in bodies:
        for path in ("/", "/x", "/" + "a" * 5000):
            robots_findings(body, path)
    assert time.perf_counter() - start < 5.0


def test_five_megabyte_robots_file() -> None:
    line = "Content-Usage: /section/ train-ai=n\n"
    body = "User-agent: *\nAllow: /\n" + line * (5_000_000 // len(line))
    rules = RobotsRules(FetchOutcome.OK, body.encode(), 200)
    document = Document("robots_txt", "https://example.com/robots.txt", FetchOutcome.OK, 200, rules)
    big = Site("https://example.com", TOKEN, frozenset({T}), {"robots_txt": document})
    start = time.perf_counter()
    findings = list(ContentUsageCheck().check(big, "/section/page"))
    assert time.perf_counter() - start < 2.0
    assert states(findings)[T] == "reserved"


def test_bom_and_utf8_body() -> None:
    body = "\ufeffUser-agent: *\nContent-Usage: /d\u00e9j\u00e0/ train-ai=n\n".encode()
    assert states(robots_findings(body, "/d%C3%A9j%C3%A0/x"))[T] == "reserved"


# --- the response header --------------------------------------------------------------------


def test_header_lines_combine_most_restrictively() -> None:
    # attach-05 2: a Dictionary field; joined, the later train-ai=y would replace the n.
    findings = list(ContentUsageHeaderCheck().check(asset("train-ai=y", "train-ai=n")))
    assert states(findings)[T] == "reserved"
    assert {f.detail for f in findings if f.reason == Reason.TRAIN_AI_NO} == {
        "Content-Usage header line 2: train-ai=n"
    }


def test_header_name_is_case_insensitive_and_absent_header_says_nothing() -> None:
    found = list(ContentUsageHeaderCheck().check(asset("search=n", name="content-usage")))
    assert states(found)[S] == "reserved"
    assert list(ContentUsageHeaderCheck().check(asset())) == []
    assert list(ContentUsageHeaderCheck().check(asset("", "  "))) == []


def test_header_hostile_values() -> None:
    check = ContentUsageHeaderCheck()
    values = ["a" * 100_000, "train-ai=n" + ", x=y" * 20_000, "\x00\xff\u2028", "=" * 50_000]
    start = time.perf_counter()
    found = list(check.check(asset(*values)))
    assert time.perf_counter() - start < 2.0
    assert states(found)[T] == "reserved"  # the second value starts with train-ai=n


def test_label_table_and_expression_reader() -> None:
    assert {"train-ai", "ai-use", "search"} <= set(LABELS)
    assert LABELS["search"].covers == frozenset({S})
    assert LABELS["ai-use"].covers == frozenset({INPUT})
    assert read_expression("train-ai=y") is read_expression("train-ai=y")  # memoised


def test_signal_info_lists_every_reason() -> None:
    assert SIGNAL is SIGNALS[0]
    assert set(SIGNALS[0].reasons) == {r.value for r in Reason}
    assert Reason.TRAIN_AI_NO in SIGNALS[1].reasons
    assert Reason.OUTSIDE_GROUP not in SIGNALS[1].reasons
    for info in SIGNALS:
        assert "draft-ietf-aipref-attach-05" in info.source
        assert info.reading
        assert info.purposes
    assert ContentUsageCheck.name == "content_usage"
    assert ContentUsageCheck.documents == ("robots_txt",)
    assert ContentUsageHeaderCheck.name == "content_usage_header"
    assert list(ContentUsageCheck().linked(site(""))) == []
