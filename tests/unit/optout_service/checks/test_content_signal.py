"""Cloudflare Content Signals: Content-Signal lines in robots.txt.

Sources: the Content Signals Policy at https://contentsignals.org/ (its robots.txt example and
the meaning of yes / no / absent), Cloudflare's announcement
https://blog.cloudflare.com/content-signals-policy/ (its examples), and the shape of the managed
robots.txt Cloudflare serves (https://developers.cloudflare.com/bots/additional-configurations/
managed-robots-txt/): the policy comment block, a ``User-agent: *`` group with
``Content-Signal: search=yes,ai-train=no``, then groups disallowing AI crawlers. Comment text is
not reproduced: comments are stripped before any rule is read, so a placeholder stands for it.
"""

from __future__ import annotations

import time

import pytest

from optout_service.checks.base import Document, Finding, Site
from optout_service.checks.combine import combine
from optout_service.checks.content_signal import (
    MISSPELLINGS,
    SIGNAL,
    SIGNALS_BY_NAME,
    ContentSignalCheck,
    Reason,
    read_signal,
)
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.purposes import ALL_PURPOSES, Purpose

TOKEN = "ExampleBot"
T, INPUT, S = Purpose.TRAIN_AI, Purpose.AI_INPUT, Purpose.SEARCH


def site(body: bytes | str, token: str = TOKEN, outcome: FetchOutcome = FetchOutcome.OK) -> Site:
    raw = body.encode() if isinstance(body, str) else body
    status = {FetchOutcome.OK: 200, FetchOutcome.CLIENT_ERROR: 404}.get(outcome, 503)
    document = Document(
        kind="robots_txt",
        url="https://example.com/robots.txt",
        outcome=outcome,
        status=status,
        parsed=RobotsRules(outcome, raw, status),
    )
    return Site("https://example.com", token, frozenset({T}), {"robots_txt": document})


def findings(body: bytes | str, path: str = "/", token: str = TOKEN) -> list[Finding]:
    return list(ContentSignalCheck().check(site(body, token), path))


def states(found: list[Finding]) -> tuple[str, str, str]:
    by = combine(found, list(Purpose)).by_purpose
    return by[T].state, by[INPUT].state, by[S].state


def reasons(found: list[Finding]) -> set[str]:
    return {f.reason for f in found}


POLICY_COMMENT = "# (the Content Signals Policy comment block stands here)\n" * 20

# (robots.txt, path, token, expected train-ai / ai-input / search, reasons that must appear)
EXAMPLES = [
    # contentsignals.org, the example robots.txt: training withheld, search and AI input given.
    (
        POLICY_COMMENT
        + "User-Agent: *\nContent-Signal: ai-train=no, search=yes, ai-input=yes\nAllow: /\n",
        "/",
        TOKEN,
        ("reserved", "allowed", "allowed"),
        {Reason.AI_TRAIN_NO, Reason.SEARCH_YES, Reason.AI_INPUT_YES},
    ),
    # blog.cloudflare.com/content-signals-policy: search yes, training no; ai-input absent
    # says nothing either way.
    (
        "User-Agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n",
        "/article",
        TOKEN,
        ("reserved", "unknown", "allowed"),
        {Reason.AI_TRAIN_NO, Reason.SEARCH_YES},
    ),
    # Cloudflare's managed robots.txt: no spaces after the commas.
    (
        POLICY_COMMENT + "User-agent: *\nContent-Signal: search=yes,ai-train=no\nAllow: /\n",
        "/",
        TOKEN,
        ("reserved", "unknown", "allowed"),
        {Reason.AI_TRAIN_NO, Reason.SEARCH_YES},
    ),
    # Cloudflare's newer managed default adds use=reference: recorded, not enforced.
    (
        "User-agent: *\nContent-Signal: search=yes,ai-train=no,use=reference\nAllow: /\n",
        "/",
        TOKEN,
        ("reserved", "unknown", "allowed"),
        {Reason.UNKNOWN_LABEL},
    ),
    # contentsignals.org: every signal no.
    (
        "User-agent: *\nContent-Signal: search=no, ai-input=no, ai-train=no\nAllow: /\n",
        "/",
        TOKEN,
        ("reserved", "reserved", "reserved"),
        {Reason.AI_TRAIN_NO, Reason.AI_INPUT_NO, Reason.SEARCH_NO},
    ),
    # contentsignals.org: every signal yes.
    (
        "User-agent: *\nContent-Signal: search=yes, ai-input=yes, ai-train=yes\nAllow: /\n",
        "/",
        TOKEN,
        ("allowed", "allowed", "allowed"),
        {Reason.AI_TRAIN_YES},
    ),
]


@pytest.mark.parametrize(("body", "path", "token", "expected", "codes"), EXAMPLES)
def test_published_examples(
    body: str, path: str, token: str, expected: tuple[str, str, str], codes: set[str]
) -> None:
    found = findings(body, path, token)
    assert states(found) == expected, found
    assert codes <= reasons(found)


AI_CRAWLERS = ("Amazonbot", "Applebot-Extended", "Bytespider", "CCBot", "ClaudeBot", "GPTBot")
MANAGED = (
    POLICY_COMMENT
    + "User-agent: *\nContent-Signal: search=yes,ai-train=no\nAllow: /\n\n"
    + "".join(f"User-agent: {bot}\nDisallow: /\n\n" for bot in AI_CRAWLERS)
)


def test_managed_robots_txt_for_a_listed_crawler() -> None:
    # A crawler with its own group does not read the '*' group's signals (RFC 9309 2.2.1);
    # the robots check refuses it anyway.
    assert findings(MANAGED, "/", "ClaudeBot") == []
    assert not RobotsRules(FetchOutcome.OK, MANAGED.encode(), 200).evaluate("/", "CCBot").allowed
    assert states(findings(MANAGED, "/", TOKEN)) == ("reserved", "unknown", "allowed")


# (Content-Signal value, expected train-ai / ai-input / search, reasons that must appear)
VALUES = [
    # Names and values in any case, blanks around '=' (RFC 9651 would reject these lines).
    ("AI-Train=NO, Search=Yes", ("reserved", "unknown", "allowed"), {Reason.AI_TRAIN_NO}),
    ("ai-train = no , search = yes", ("reserved", "unknown", "allowed"), {Reason.SEARCH_YES}),
    ("ai-train=no; search=yes", ("reserved", "unknown", "allowed"), {Reason.AI_TRAIN_NO}),
    ("ai-train: no", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ('ai-train="no"', ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ("ai-train=no,, search=yes,", ("reserved", "unknown", "allowed"), {Reason.SEARCH_YES}),
    # AIPREF's n reads as no; its y is not a yes.
    ("ai-train=n", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ("ai-train=y", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    # Values other than yes/no are noted and say nothing.
    ("ai-train=maybe", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("ai-train=", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("ai-train", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("ai-train=0", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    ("search=yes please", ("unknown", "unknown", "unknown"), {Reason.BAD_VALUE}),
    # Names outside the three: noted, nothing decided.
    ("ai-retrieval=no", ("unknown", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    ("use=immediate", ("unknown", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    ("use=full, ai-input=no", ("unknown", "reserved", "unknown"), {Reason.UNKNOWN_LABEL}),
    # Misspellings of one signal: noted, their no reserves, their yes never grants.
    ("ai_train=no", ("reserved", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    ("ai-training=no", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ("train-ai=no", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    ("ai_input=no", ("unknown", "reserved", "unknown"), {Reason.AI_INPUT_NO}),
    ("ai_train=yes", ("unknown", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    # A signal given twice in one line: the no wins.
    ("ai-train=yes, ai-train=no", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_YES}),
    ("ai-train=no, ai-train=yes", ("reserved", "unknown", "unknown"), {Reason.AI_TRAIN_NO}),
    # Garbage.
    ("=", ("unknown", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
    ("\u00e9t\u00e9=no", ("unknown", "unknown", "unknown"), {Reason.UNKNOWN_LABEL}),
]


@pytest.mark.parametrize(("value", "expected", "codes"), VALUES)
def test_values(value: str, expected: tuple[str, str, str], codes: set[str]) -> None:
    found = findings(f"User-agent: *\nAllow: /\nContent-Signal: {value}\n", "/p")
    assert states(found) == expected, found
    assert codes <= reasons(found), found


def test_notes_say_what_was_written() -> None:
    found = findings("User-agent: *\nAllow: /\nContent-Signal: use=reference, ai-train=sure\n")
    notes = {(f.reason, f.detail) for f in found if not (f.reserves or f.allows)}
    assert notes == {
        (Reason.UNKNOWN_LABEL, "robots.txt line 3 (group): use=reference"),
        (Reason.BAD_VALUE, "robots.txt line 3 (group): ai-train=sure"),
    }


# (robots.txt, path, expected train-ai state)
PLACES = [
    # File-level lines (before any group) count for every crawler...
    ("Content-Signal: ai-train=no\n\nUser-agent: *\nAllow: /\n", "/", "reserved"),
    ("Content-Signal: ai-train=yes\n\nUser-agent: *\nAllow: /\n", "/", "allowed"),
    # ...and neither a group's line nor a file-level one lifts the other's no.
    (
        "Content-Signal: ai-train=no\nUser-agent: ExampleBot\nContent-Signal: ai-train=yes\n",
        "/",
        "reserved",
    ),
    ("Content-Signal: ai-train=yes\nUser-agent: *\nContent-Signal: ai-train=no\n", "/", "reserved"),
    # Several groups for our token: merged, the most restrictive wins.
    (
        "User-agent: ExampleBot\nAllow: /\nContent-Signal: ai-train=yes\n\n"
        "User-agent: ExampleBot\nAllow: /\nContent-Signal: ai-train=no\n",
        "/",
        "reserved",
    ),
    # A group naming our token displaces the '*' group (RFC 9309 2.2.1).
    (
        "User-agent: *\nAllow: /\nContent-Signal: ai-train=no\n\n"
        "User-agent: ExampleBot\nAllow: /\nContent-Signal: ai-train=yes\n",
        "/",
        "allowed",
    ),
    # Another crawler's signals are not ours.
    ("User-agent: GPTBot\nDisallow: /\nContent-Signal: ai-train=no\n", "/", "unknown"),
    # A path before the value scopes the line (robots.txt matching rules).
    ("User-agent: *\nAllow: /\nContent-Signal: /blog/ ai-train=no\n", "/blog/post", "reserved"),
    ("User-agent: *\nAllow: /\nContent-Signal: /blog/ ai-train=no\n", "/about", "unknown"),
    ("User-agent: *\nAllow: /\nContent-Signal: /*.pdf$ ai-train=no\n", "/a/b.pdf", "reserved"),
    # A longer path does not lift a shorter one's no (our stricter reading)...
    (
        "User-agent: *\nAllow: /\nContent-Signal: ai-train=no\n"
        "Content-Signal: /docs/ ai-train=yes\n",
        "/docs/x",
        "reserved",
    ),
    # ...and a path-scoped yes still grants where nothing says no.
    ("User-agent: *\nAllow: /\nContent-Signal: /docs/ ai-train=yes\n", "/docs/x", "allowed"),
    # The key is case-insensitive; '#' starts a comment.
    ("User-agent: *\nCONTENT-SIGNAL: ai-train=no\n", "/", "reserved"),
    ("User-agent: *\ncontent-signal: ai-train=yes # ai-train=no\n", "/", "allowed"),
    # A path and nothing else says nothing.
    ("User-agent: *\nContent-Signal: /blog/\n", "/blog/x", "unknown"),
]


@pytest.mark.parametrize(("body", "path", "state"), PLACES)
def test_places(body: str, path: str, state: str) -> None:
    assert states(findings(body, path))[0] == state


@pytest.mark.parametrize(
    "outcome", [FetchOutcome.CLIENT_ERROR, FetchOutcome.SERVER_ERROR, FetchOutcome.NETWORK_ERROR]
)
def test_no_robots_body_says_nothing(outcome: FetchOutcome) -> None:
    assert list(ContentSignalCheck().check(site(b"", outcome=outcome), "/")) == []


def test_missing_or_foreign_document() -> None:
    assert (
        list(ContentSignalCheck().check(Site("https://e.org", TOKEN, frozenset(), {}), "/")) == []
    )
    odd = Document("robots_txt", "https://e.org/robots.txt", FetchOutcome.OK, 200, "text")
    foreign = Site("https://e.org", TOKEN, frozenset(), {"robots_txt": odd})
    assert list(ContentSignalCheck().check(foreign, "/")) == []
    assert findings("User-agent: *\nDisallow: /private\n") == []


def test_deterministic_and_deduplicated() -> None:
    body = "User-agent: *\nContent-Signal: ai-train=no\nContent-Signal: ai-train=no, x=1\n"
    first = findings(body, "/")
    assert first == findings(body, "/")
    assert [f.reason for f in first] == [Reason.AI_TRAIN_NO, Reason.UNKNOWN_LABEL]
    assert first[0].detail == "robots.txt line 2 (group): ai-train=no"


def test_too_many_lines_reserve_everything() -> None:
    body = "User-agent: *\n" + "Content-Signal: /p/ search=yes\n" * 5000
    found = findings(body, "/p/x")
    assert Reason.TOO_MANY_RULES in reasons(found)
    assert states(found) == ("reserved", "reserved", "reserved")
    assert next(f for f in found if f.reason == Reason.TOO_MANY_RULES).reserves == ALL_PURPOSES


def test_hostile_input() -> None:
    bodies: list[bytes | str] = [
        "User-agent: *\nContent-Signal: " + "ai-train=no," * 2000 + "\n",
        "User-agent: *\nContent-Signal: " + "x" * 30_000 + "\n",
        "User-agent: *\nContent-Signal: " + "=" * 20_000 + "\n",
        "User-agent: *\nContent-Signal: /" + "*a" * 8000 + " ai-train=no\n",
        b"\xff\xfe\x00\x01Content-Signal: \xff=no\n",
        b"\x00" * 100_000,
        "\ufeffUser-agent: *\nContent-Signal: ai-train=no\n".encode(),
        ("User-agent: *\nContent-Signal: ai-train=no\n" * 3000).encode(),
    ]
    start = time.perf_counter()
    for body in bodies:
        for path in ("/", "/" + "a" * 4000):
            findings(body, path)
    assert time.perf_counter() - start < 5.0
    assert states(findings(bodies[0]))[0] == "reserved"
    assert states(findings(bodies[6]))[0] == "reserved"  # the BOM is not part of the key


def test_five_megabyte_robots_file() -> None:
    line = "Content-Signal: search=yes, ai-train=no\n"
    body = "User-agent: *\nAllow: /\n" + line * (5_000_000 // len(line))
    start = time.perf_counter()
    found = findings(body, "/page")
    assert time.perf_counter() - start < 5.0
    assert states(found)[0] == "reserved"


def test_reader_and_signal_info() -> None:
    assert read_signal("ai-train=no") is read_signal("ai-train=no")  # memoised
    assert set(SIGNALS_BY_NAME) == {"ai-train", "ai-input", "search"}
    assert set(MISSPELLINGS.values()) <= set(SIGNALS_BY_NAME)
    assert set(SIGNAL.reasons) == {r.value for r in Reason}
    assert "contentsignals.org" in SIGNAL.source
    assert SIGNAL.reading
    assert ContentSignalCheck.name == "content_signal"
    assert ContentSignalCheck.documents == ("robots_txt",)
    assert list(ContentSignalCheck().linked(site(""))) == []
