"""The AI-crawler-block profile: robots.txt groups naming AI crawlers reserve against ours too."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from optout_service.checks import ai_crawlers
from optout_service.checks.ai_crawlers import (
    KIND,
    SIGNAL,
    AiCrawlersCheck,
    AiCrawlersReason,
    load_ai_crawlers,
    parse_ai_crawlers,
)
from optout_service.checks.base import Document, Finding, Site
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import RobotsRules
from optout_service.purposes import Purpose

CORPUS = Path("/work/shared/corpus/robots")
TOKEN = "ExampleBot"
RESERVED = AiCrawlersReason.ROBOTS_AI_CRAWLERS_RESERVED
TRAIN = frozenset({Purpose.TRAIN_AI})
INPUT = frozenset({Purpose.AI_INPUT})
BOTH = TRAIN | INPUT


def rules_of(text: str | bytes) -> RobotsRules:
    body = text.encode("utf-8") if isinstance(text, str) else text
    return RobotsRules(FetchOutcome.OK, body, 200)


def site(rules: RobotsRules | None) -> Site:
    documents = {}
    if rules is not None:
        documents[KIND] = Document(
            KIND, "https://example.org/robots.txt", rules.outcome, 200, rules
        )
    return Site("https://example.org", TOKEN, TRAIN, documents)


def findings(
    text: str | bytes | RobotsRules, path: str, check: AiCrawlersCheck | None = None
) -> tuple[Finding, ...]:
    rules = text if isinstance(text, RobotsRules) else rules_of(text)
    return tuple((check or AiCrawlersCheck()).check(site(rules), path))


def reserves(text: str | bytes | RobotsRules, path: str) -> frozenset[Purpose] | None:
    found = findings(text, path)
    if not found:
        return None
    (finding,) = found  # one finding per URL, however many crawlers
    assert finding.reason == RESERVED
    return finding.reserves


# --- The data file --------------------------------------------------------------------------


def test_data_file_is_versioned_and_sourced() -> None:
    listed = load_ai_crawlers()
    assert listed.version == "2026-12-04"
    assert len(listed.crawlers) >= 15
    for crawler in listed.crawlers:
        assert crawler.source.startswith("https://")
        assert crawler.purpose in {"training", "ai-input", "mixed"}
        assert crawler.operator


def test_data_file_lists_the_documented_crawlers() -> None:
    tokens = {c.token for c in load_ai_crawlers().crawlers}
    # The operators of these document what their crawler's data is for (see `source`).
    assert {
        "GPTBot",
        "CCBot",
        "ClaudeBot",
        "Google-Extended",
        "Applebot-Extended",
        "meta-externalagent",
        "FacebookBot",
        "PerplexityBot",
        "AI2Bot",
        "Ai2Bot-Dolma",
        "img2dataset",
        "Amazonbot",
        "YouBot",
    } <= tokens
    # Left out on the review date: no operator documentation, or not an AI use (the file's
    # header says why for each).
    assert not tokens & {"Bytespider", "cohere-ai", "omgili", "Diffbot", "ImagesiftBot"}


def test_cut_tokens_say_whether_their_cut_form_counts() -> None:
    cut = {c.token: c.key for c in load_ai_crawlers().crawlers if c.cut}
    assert cut == {"AI2Bot": "ai", "Ai2Bot-Dolma": "ai", "img2dataset": "img"}


DATA_ERRORS = [
    (
        'version = "1"\n[[crawler]]\ntoken = "Foo2Bot"\noperator = "F"\npurpose = "training"\n'
        'source = "https://f.example/"\n',
        "counts_cut_token",
    ),
    (
        'version = "1"\n[[crawler]]\ntoken = "FooBot"\noperator = "F"\npurpose = "search"\n'
        'source = "https://f.example/"\n',
        "purpose",
    ),
    (
        'version = "1"\n[[crawler]]\ntoken = "FooBot"\noperator = "F"\npurpose = "training"\n'
        'source = "http://f.example/"\n',
        "https",
    ),
    (
        'version = "1"\n[[crawler]]\ntoken = "FooBot"\noperator = "F"\npurpose = "training"\n',
        "source",
    ),
    ('[[crawler]]\ntoken = "FooBot"\n', "version"),
    (
        'version = "1"\n' + 2 * '[[crawler]]\ntoken = "FooBot"\noperator = "F"\npurpose = '
        '"training"\nsource = "https://f.example/"\n',
        "twice",
    ),
    (
        'version = "1"\n[[crawler]]\ntoken = "42"\noperator = "F"\npurpose = "training"\n'
        'source = "https://f.example/"\n',
        "product token",
    ),
    ("version = [", "ai_crawlers.toml"),
]


@pytest.mark.parametrize(("text", "message"), DATA_ERRORS)
def test_bad_data_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_ai_crawlers(text)


# --- Real robots.txt files (/work/shared/corpus/robots, Protego's test data) ---------------

CORPUS_CASES = [
    # (file, path, purposes reserved or None)
    # "User-agent: ccbot / Disallow: /": the whole site.
    ("www.gutenberg.org", "/ebooks/1342", TRAIN),
    ("www.usnews.com", "/news", TRAIN),
    # CCBot in a group of several agents with "Disallow: /".
    ("pixabay.com", "/photos/cat-123/", TRAIN),
    ("www.who.int", "/health-topics", TRAIN),
    # github.com gives CCBot path rules: master trees allowed, other trees disallowed.
    ("github.com", "/scrapy/protego/tree/master", None),
    ("github.com", "/scrapy/protego/tree/dev", TRAIN),
    ("github.com", "/ekansa/Open-Context-Data", TRAIN),
    ("github.com", "/scrapy/protego", None),
    # "User-agent: ccbot / Allow: /" then a "User-agent: *" group disallowing everything: the
    # * group is the robots check's business; CCBot itself is allowed.
    ("www.inc.com", "/magazine", None),
    # "User-agent: CCBot / crawl-delay: 0.7" then "User-agent: Balihoo / Disallow: /": a
    # crawl-delay line does not end the run of user-agent lines (RFC 9309 2.2.4, as the parser
    # reads it), so CCBot shares Balihoo's "Disallow: /".
    ("www.eventbrite.com", "/d/online/events/", TRAIN),
    # Only omgili/omgilibot are named, and they are not listed (no operator documentation).
    ("www.nytimes.com", "/section/world", None),
]


@pytest.mark.parametrize(("name", "path", "expected"), CORPUS_CASES)
def test_corpus(name: str, path: str, expected: frozenset[Purpose] | None) -> None:
    body = (CORPUS / name).read_bytes()
    assert reserves(body, path) == expected


# --- Edge cases -----------------------------------------------------------------------------

EDGE_CASES = [
    # (robots.txt, path, purposes reserved or None)
    ("User-agent: *\nDisallow: /\n", "/a", None),  # the robots check reads * groups
    ("User-agent: GPTBot\nDisallow:\n", "/a", None),  # an empty disallow allows everything
    ("User-agent: GPTBot\nCrawl-delay: 5\n", "/a", None),  # named, nothing disallowed
    ("User-agent: GPTBot\nDisallow: /private/\n", "/private/x", TRAIN),
    ("User-agent: GPTBot\nDisallow: /private/\n", "/public/x", None),
    ("User-agent: GPTBot\nDisallow: /\nAllow: /public/\n", "/public/x", None),
    ("User-agent: GPTBot\nDisallow: /\nAllow: /public/\n", "/other", TRAIN),
    ("User-agent: GPTBot\nDisallow: /*.pdf$\n", "/docs/a.pdf", TRAIN),
    ("User-agent: GPTBot\nDisallow: /*.pdf$\n", "/docs/a.pdf?x", None),
    # Product tokens match case-insensitively, versions and comments are ignored.
    ("User-agent: gptbot/1.2 # OpenAI\nDisallow: /\n", "/a", TRAIN),
    # An ai-input crawler reserves ai-input only; a "mixed" one both.
    ("User-agent: PerplexityBot\nDisallow: /\n", "/a", INPUT),
    ("User-agent: ChatGPT-User\nDisallow: /\n", "/a", INPUT),
    ("User-agent: Google-Extended\nDisallow: /\n", "/a", BOTH),
    ("User-agent: Amazonbot\nDisallow: /\n", "/a", BOTH),
    ("User-agent: GPTBot\nDisallow: /\n\nUser-agent: OAI-SearchBot\nDisallow: /\n", "/a", BOTH),
    # A site that blocks GPTBot and lets Googlebot in has not reserved search.
    ("User-agent: GPTBot\nDisallow: /\n\nUser-agent: Googlebot\nAllow: /\n", "/a", TRAIN),
    # Groups naming one token are merged (RFC 9309 2.2.1).
    ("User-agent: CCBot\nDisallow: /a/\n\nUser-agent: CCBot\nDisallow: /b/\n", "/b/x", TRAIN),
    # A group naming an AI crawler together with * still names it.
    ("User-agent: GPTBot\nUser-agent: *\nDisallow: /x\n", "/x", TRAIN),
    # Tokens with digits, matched as the parser stores them ("ai", "img").
    ("User-agent: AI2Bot\nDisallow: /\n", "/a", TRAIN),
    ("User-agent: Ai2Bot-Dolma\nDisallow: /\n", "/a", TRAIN),
    ("User-agent: img2dataset\nDisallow: /\n", "/a", TRAIN),
    # The data file accepts the cut form "ai" explicitly (it cannot be told from AI2Bot).
    ("User-agent: AI\nDisallow: /\n", "/a", TRAIN),
    # Other names are other tokens.
    ("User-agent: AI-Crawler\nDisallow: /\n", "/a", None),
    ("User-agent: GPTBotter\nDisallow: /\n", "/a", None),
    ("User-agent: Bytespider\nDisallow: /\n", "/a", None),  # not listed (no operator docs)
    # RFC 9309 2.2.2: /robots.txt is always allowed.
    ("User-agent: GPTBot\nDisallow: /\n", "/robots.txt", None),
    # Percent-encoding is compared in normal form.
    ("User-agent: GPTBot\nDisallow: /caf%C3%A9/\n", "/café/menu", TRAIN),
]


@pytest.mark.parametrize(("text", "path", "expected"), EDGE_CASES)
def test_edge_cases(text: str, path: str, expected: frozenset[Purpose] | None) -> None:
    assert reserves(text, path) == expected


# The typical block list (ai-robots-txt/ai.robots.txt robots.txt): one group, many agents.
BLOCK_LIST = (
    "User-agent: AI2Bot\nUser-agent: Ai2Bot-Dolma\nUser-agent: Amazonbot\n"
    "User-agent: anthropic-ai\nUser-agent: Applebot-Extended\nUser-agent: Bytespider\n"
    "User-agent: CCBot\nUser-agent: ChatGPT-User\nUser-agent: Claude-Web\n"
    "User-agent: ClaudeBot\nUser-agent: cohere-ai\nUser-agent: Diffbot\n"
    "User-agent: FacebookBot\nUser-agent: Google-Extended\nUser-agent: GPTBot\n"
    "User-agent: ImagesiftBot\nUser-agent: Meta-ExternalAgent\nUser-agent: omgili\n"
    "User-agent: PerplexityBot\nUser-agent: YouBot\nDisallow: /\n"
)


def test_block_list_gives_one_finding_naming_each_crawler() -> None:
    (finding,) = findings(BLOCK_LIST, "/any/page")
    assert finding.reason == RESERVED
    assert finding.reserves == BOTH
    detail = finding.detail or ""
    for token in ("GPTBot", "CCBot", "ClaudeBot", "PerplexityBot", "AI2Bot (training"):
        assert token in detail
    assert "Bytespider" not in detail
    assert "line 21: disallow: /" in detail
    assert detail.endswith("(AI crawler list 2026-12-04)")
    # Listed in the data file's order, each once.
    assert detail.index("GPTBot") < detail.index("PerplexityBot")
    assert detail.count("ClaudeBot") == 1


def test_detail_names_each_rule() -> None:
    text = "User-agent: GPTBot\nDisallow: /a\n\nUser-agent: CCBot\nDisallow: /\n"
    (finding,) = findings(text, "/a/b")
    assert finding.detail == (
        "disallowed for GPTBot (training): line 2: disallow: /a; "
        "CCBot (training): line 5: disallow: / (AI crawler list 2026-12-04)"
    )


def test_findings_are_deterministic() -> None:
    rules = rules_of(BLOCK_LIST)
    check = AiCrawlersCheck()
    assert findings(rules, "/x", check) == findings(rules, "/x", check)


@pytest.mark.parametrize(
    "rules",
    [
        RobotsRules(FetchOutcome.CLIENT_ERROR, None, 404),
        RobotsRules(FetchOutcome.SERVER_ERROR, None, 503),
        RobotsRules(FetchOutcome.TIMEOUT, None, None),
        None,
    ],
)
def test_no_robots_txt_no_finding(rules: RobotsRules | None) -> None:
    assert tuple(AiCrawlersCheck().check(site(rules), "/a")) == ()


def test_wrong_document_type_is_ignored() -> None:
    documents = {KIND: Document(KIND, "u", FetchOutcome.OK, 200, "not parsed")}
    subject = Site("https://example.org", TOKEN, TRAIN, documents)
    assert tuple(AiCrawlersCheck().check(subject, "/a")) == ()


# --- Switching it off -----------------------------------------------------------------------


def test_disabled_check_finds_nothing() -> None:
    assert findings(BLOCK_LIST, "/a", AiCrawlersCheck(enabled=False)) == ()


def test_from_settings_reads_the_flag() -> None:
    off = SimpleNamespace(checks=SimpleNamespace(ai_crawler_profile=False))
    on = SimpleNamespace(checks=SimpleNamespace(ai_crawler_profile=True))
    assert AiCrawlersCheck.from_settings(off).enabled is False  # type: ignore[arg-type]
    assert AiCrawlersCheck.from_settings(on).enabled is True  # type: ignore[arg-type]
    # Settings without the group yet: on by default.
    assert AiCrawlersCheck.from_settings(SimpleNamespace()).enabled is True  # type: ignore[arg-type]


def test_constructible_without_arguments() -> None:
    check = AiCrawlersCheck()
    assert check.name == "ai_crawlers"
    assert check.documents == ("robots_txt",)
    assert tuple(check.linked(site(None))) == ()


def test_a_cut_token_the_data_does_not_count() -> None:
    listed = parse_ai_crawlers(
        'version = "t"\n[[crawler]]\ntoken = "AI2Bot"\noperator = "Ai2"\npurpose = "training"\n'
        'source = "https://allenai.org/crawler"\ncounts_cut_token = false\n'
    )
    check = AiCrawlersCheck(crawlers=listed)
    assert findings("User-agent: AI\nDisallow: /\n", "/a", check) == ()
    # The whole token is always read (Protego's reading of a digit): the group counts.
    found = findings("User-agent: AI2Bot\nDisallow: /\n", "/a", check)
    assert [f.reason for f in found] == ["robots.ai_crawlers_reserved"]
    assert "AI2Bot (training)" in (found[0].detail or "")


# --- The memo -------------------------------------------------------------------------------


def test_profile_built_once_per_parsed_file(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[object] = []
    original = ai_crawlers.build_profile

    def counting(robots: object, crawlers: object) -> object:
        built.append(robots)
        return original(robots, crawlers)  # type: ignore[arg-type]

    monkeypatch.setattr(ai_crawlers, "build_profile", counting)
    check = AiCrawlersCheck()
    rules = rules_of(BLOCK_LIST)
    for index in range(500):
        findings(rules, f"/page/{index}", check)
    assert len(built) == 1
    # Another parse of the same text is another file.
    findings(rules_of(BLOCK_LIST), "/a", check)
    assert len(built) == 2


def test_memo_checks_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    check = AiCrawlersCheck()
    rules = rules_of("User-agent: GPTBot\nDisallow: /\n")
    assert rules.robots is not None
    stranger = rules_of("User-agent: *\nDisallow:\n").robots
    assert stranger is not None
    # As if another file had been remembered under this id: it must not be used.
    check._memo[id(rules.robots)] = (stranger, (), 0)
    assert [f.reason for f in findings(rules, "/a", check)] == [RESERVED]


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ai_crawlers, "MEMO_ENTRIES", 3)
    check = AiCrawlersCheck()
    files = [rules_of(f"User-agent: GPTBot\nDisallow: /{i}\n") for i in range(10)]
    for rules in files:
        findings(rules, "/0", check)
    assert len(check._memo) == 3
    monkeypatch.setattr(ai_crawlers, "MEMO_BYTES", 1)
    findings(files[0], "/0", check)
    assert len(check._memo) == 1  # the newest entry is always kept


def test_many_groups_many_urls_fast() -> None:
    groups = "".join(
        f"User-agent: Bot{chr(97 + i % 26)}{i}x\nDisallow: /{i}/\n" for i in range(5000)
    )
    text = groups + "User-agent: GPTBot\nDisallow: /private/\n"
    check = AiCrawlersCheck()
    rules = rules_of(text)
    findings(rules, "/warm", check)
    start = time.perf_counter()
    reserved = sum(bool(findings(rules, f"/private/{i}", check)) for i in range(5000))
    assert reserved == 5000
    # 5,000 URLs against a file of 5,000 groups: no group is scanned per URL.
    assert time.perf_counter() - start < 2.0


def test_signal_documents_the_reason() -> None:
    assert set(SIGNAL.reasons) == set(AiCrawlersReason)
    assert "search" in SIGNAL.purposes
    assert RESERVED.value == "robots.ai_crawlers_reserved"
