"""The AI-crawler-block profile: a robots.txt that shuts out AI crawlers by name reserves the path
against ours too.

Rights holders who disallow every AI crawler they know of (GPTBot, CCBot, ClaudeBot, ...) have
expressed a reservation against AI uses of their content, even if they never heard of our
crawler. This check reads the origin's robots.txt (the same parsed file the robots check reads)
for the well-known AI crawlers of the data file ``optout_service/data/ai_crawlers.toml`` and,
when a group naming one of them disallows the URL, reserves the purposes of that crawler:

* a crawler documented for training (or for training and AI answers, ``mixed``) reserves
  ``train-ai``; one documented for AI answers at use time (``ai-input``, or ``mixed``) reserves
  ``ai-input``. A URL disallowed for several listed crawlers reserves the union, in one finding
  (``robots.ai_crawlers_reserved``) naming each crawler and robots.txt line.
* ``search`` is never reserved here: a site that blocks GPTBot but lets Googlebot in has not
  reserved search.
* Only groups that name the token explicitly count: ``User-agent: *`` groups are the robots
  check's business (they already apply to our crawler). Groups naming a token are merged and
  matched as RFC 9309 says (longest match, ``allow`` wins a tie), so ``Allow: /public/`` in a
  GPTBot group leaves ``/public/`` unreserved.
* Tokens are matched under both readings of a digit: whole (``User-agent: AI2Bot`` names
  AI2Bot, as Protego reads it) and the way RFC 9309 cuts it (:func:`product_token`: the leading
  ``[A-Za-z_-]``, so ``ai``); the data file says for each such entry whether a group naming
  only the cut form (``User-agent: AI``) counts (see its header).

The check does nothing when robots.txt was not read (4xx: no file; 5xx/unreachable: the robots
check already refuses). It needs robots.txt parsed in full (``RobotsTxt.parse`` without a
``tokens`` filter, as :class:`optout_service.policy.robots.RobotsRules` does).

Performance: the groups of a parsed file are indexed once, into one merged rule set per distinct
set of groups naming a listed crawler (usually one or two), kept in a small memo keyed by the
parsed file's identity. A URL then costs one lookup per rule set; no group is scanned per URL.
The merged rules are built here, not through ``RobotsTxt.rules_for``, so that the file's own
per-agent indexes stay for our crawler's token.
"""

from __future__ import annotations

import threading
import tomllib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal, cast

from optout_service.checks.base import Finding, NoLinks, SignalInfo, Site
from optout_service.policy.robots import RobotsRules
from optout_service.policy.robotstxt import (
    AgentRules,
    Group,
    RobotsTxt,
    Rule,
    normalise_path,
    product_token,
)
from optout_service.purposes import Purpose

if TYPE_CHECKING:
    from optout_service.config import Settings

KIND = "robots_txt"
DATA_FILE = "ai_crawlers.toml"  # in optout_service/data/

MEMO_ENTRIES = 1024  # parsed robots.txt files whose profile is remembered
# ...and the memory those files may hold at most (the memo keeps them alive, so that an id is
# never reused by another file while remembered); the newest entry is always kept.
MEMO_BYTES = 64 * 1024 * 1024


class AiCrawlersReason(StrEnum):
    # robots.txt disallows the URL for a well-known AI crawler named in a group of its own: the
    # purposes of that crawler (train-ai, ai-input) are reserved against ours too.
    ROBOTS_AI_CRAWLERS_RESERVED = "robots.ai_crawlers_reserved"


CrawlerPurpose = Literal["training", "ai-input", "mixed"]
_RESERVES: dict[str, frozenset[Purpose]] = {
    "training": frozenset({Purpose.TRAIN_AI}),
    "ai-input": frozenset({Purpose.AI_INPUT}),
    "mixed": frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT}),
}


@dataclass(frozen=True, slots=True)
class AiCrawler:
    """One entry of the data file."""

    token: str  # as the operator writes it
    operator: str
    purpose: CrawlerPurpose
    source: str  # the operator's documentation
    position: int  # its place in the file (findings list crawlers in this order)
    key: str  # the form robots.txt groups are stored under (product_token of `token`)
    counts: bool  # False: a cut token the data says not to look for

    @property
    def reserves(self) -> frozenset[Purpose]:
        return _RESERVES[self.purpose]

    @property
    def cut(self) -> bool:
        return self.key != self.token.lower()


@dataclass(frozen=True, slots=True)
class AiCrawlerList:
    version: str
    crawlers: tuple[AiCrawler, ...]


def _text(entry: Mapping[str, object], field: str, where: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {field!r} must be a non-empty string")
    return value.strip()


def parse_ai_crawlers(text: str) -> AiCrawlerList:
    """The crawler list of a data file's text; ValueError names what is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{DATA_FILE}: {error}") from None
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise ValueError(f"{DATA_FILE}: 'version' must be a non-empty string")
    entries = data.get("crawler", [])
    if not isinstance(entries, list):
        raise ValueError(f"{DATA_FILE}: 'crawler' must be an array of tables")
    crawlers: list[AiCrawler] = []
    seen: set[str] = set()
    for position, entry in enumerate(entries):
        where = f"{DATA_FILE}: crawler {position + 1}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a table")
        token = _text(entry, "token", where)
        operator = _text(entry, "operator", where)
        purpose = _text(entry, "purpose", where)
        source = _text(entry, "source", where)
        if purpose not in _RESERVES:
            raise ValueError(f"{where}: purpose {purpose!r} is not one of {sorted(_RESERVES)}")
        if not source.startswith("https://"):
            raise ValueError(f"{where}: source must be an https URL")
        if token.lower() in seen:
            raise ValueError(f"{where}: {token!r} is listed twice")
        seen.add(token.lower())
        key = product_token(token)
        if not key or key == "*":
            raise ValueError(f"{where}: {token!r} has no product token robots.txt can name")
        counts = True
        if key != token.lower():
            flag = entry.get("counts_cut_token")
            if not isinstance(flag, bool):
                raise ValueError(
                    f"{where}: {token!r} is stored by the robots.txt parser as {key!r}; say "
                    "whether that form counts with counts_cut_token = true|false"
                )
            counts = flag
        kind = cast(CrawlerPurpose, purpose)  # checked against _RESERVES above
        crawlers.append(AiCrawler(token, operator, kind, source, position, key, counts))
    return AiCrawlerList(version, tuple(crawlers))


@cache
def load_ai_crawlers() -> AiCrawlerList:
    """The list shipped with the service (read once)."""
    resource = resources.files("optout_service").joinpath("data").joinpath(DATA_FILE)
    return parse_ai_crawlers(resource.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class _RuleSet:
    crawlers: tuple[AiCrawler, ...]  # every listed crawler these merged groups apply to
    rules: AgentRules


_NO_SETS: tuple[_RuleSet, ...] = ()


def build_profile(robots: RobotsTxt, crawlers: AiCrawlerList) -> tuple[_RuleSet, ...]:
    """The merged rule sets of ``robots`` for the listed crawlers it names (once per file)."""
    by_key: dict[str, list[AiCrawler]] = {}
    for crawler in crawlers.crawlers:
        if crawler.counts:
            by_key.setdefault(crawler.key, []).append(crawler)
        whole = crawler.token.lower()
        if whole != crawler.key:  # a token with digits: also its whole form, as Protego reads
            by_key.setdefault(whole, []).append(crawler)
    named: dict[str, list[Group]] = {}
    for group in robots.groups:
        agents = group.agents if group.wide_agents is None else {*group.agents, *group.wide_agents}
        for agent in agents:
            if agent in by_key:
                groups = named.setdefault(agent, [])
                if not groups or groups[-1] is not group:
                    groups.append(group)
    merged: dict[tuple[int, ...], tuple[list[Group], list[AiCrawler]]] = {}
    for key, groups in named.items():
        if not any(group.rules for group in groups):
            continue  # named, but nothing disallowed
        ident = tuple(id(group) for group in groups)
        merged.setdefault(ident, (groups, []))[1].extend(by_key[key])
    if not merged:
        return _NO_SETS
    sets = []
    for groups, found in merged.values():
        rules = tuple(rule for group in groups for rule in group.rules)
        unique = tuple(dict.fromkeys(found))  # a crawler named in its whole and cut forms
        sets.append(_RuleSet(unique, AgentRules(rules, None, None, len(groups))))
    return tuple(sets)


class AiCrawlersCheck(NoLinks):
    """``robots.ai_crawlers_reserved`` when robots.txt disallows the URL for a listed AI crawler."""

    name = "ai_crawlers"
    documents = (KIND,)

    def __init__(self, enabled: bool = True, crawlers: AiCrawlerList | None = None) -> None:
        self.enabled = enabled
        self.crawlers = crawlers if crawlers is not None else load_ai_crawlers()
        self._lock = threading.Lock()
        # id(robots) -> (the file, its rule sets, its size): the file is held so that its id
        # cannot be reused while the entry exists, and compared by identity on every hit.
        self._memo: OrderedDict[int, tuple[RobotsTxt, tuple[_RuleSet, ...], int]] = OrderedDict()
        self._memo_bytes = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> AiCrawlersCheck:
        # The switch is settings.checks.ai_crawler_profile (on unless turned off).
        checks = getattr(settings, "checks", None)
        return cls(enabled=bool(getattr(checks, "ai_crawler_profile", True)))

    def _profile(self, robots: RobotsTxt) -> tuple[_RuleSet, ...]:
        key = id(robots)
        with self._lock:
            held = self._memo.get(key)
            if held is not None and held[0] is robots:
                self._memo.move_to_end(key)
                return held[1]
        sets = build_profile(robots, self.crawlers)
        size = robots.estimated_bytes()
        with self._lock:
            old = self._memo.pop(key, None)
            if old is not None:
                self._memo_bytes -= old[2]
            self._memo[key] = (robots, sets, size)
            self._memo_bytes += size
            while len(self._memo) > 1 and (
                len(self._memo) > MEMO_ENTRIES or self._memo_bytes > MEMO_BYTES
            ):
                _, evicted = self._memo.popitem(last=False)
                self._memo_bytes -= evicted[2]
        return sets

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        if not self.enabled:
            return ()
        document = site.document(KIND)
        if document is None or not isinstance(document.parsed, RobotsRules):
            return ()
        robots = document.parsed.robots
        if robots is None:  # 4xx (no file) or unreachable (the robots check refuses)
            return ()
        sets = self._profile(robots)
        if not sets:
            return ()
        path = normalise_path(path_query or "/")
        if path == "/robots.txt":  # RFC 9309 2.2.2: always allowed
            return ()
        hits: list[tuple[AiCrawler, Rule]] = []
        for rule_set in sets:
            rule = rule_set.rules.first(path)
            if rule is not None and not rule.allow:
                hits.extend((crawler, rule) for crawler in rule_set.crawlers)
        if not hits:
            return ()
        hits.sort(key=lambda hit: hit[0].position)
        reserves: frozenset[Purpose] = frozenset().union(*(c.reserves for c, _ in hits))
        return (
            Finding(
                AiCrawlersReason.ROBOTS_AI_CRAWLERS_RESERVED,
                reserves=reserves,
                detail=_detail(hits, self.crawlers.version),
            ),
        )


def _detail(hits: list[tuple[AiCrawler, Rule]], version: str) -> str:
    by_rule: dict[int, tuple[Rule, list[str]]] = {}
    for crawler, rule in hits:
        name = f"{crawler.token} ({crawler.purpose})"
        by_rule.setdefault(id(rule), (rule, []))[1].append(name)
    parts = [
        f"{', '.join(names)}: line {rule.line}: {rule.directive}: {rule.pattern}"
        for rule, names in by_rule.values()
    ]
    return f"disallowed for {'; '.join(parts)} (AI crawler list {version})"


SIGNAL = SignalInfo(
    name="AI-crawler-block profile (robots.txt)",
    where="/robots.txt of the URL's origin, groups naming well-known AI crawlers, before the fetch",
    source="RFC 9309 (https://www.rfc-editor.org/rfc/rfc9309) for the matching; the crawler "
    "list optout_service/data/ai_crawlers.toml, each entry citing its operator's documentation",
    reasons={
        AiCrawlersReason.ROBOTS_AI_CRAWLERS_RESERVED: "robots.txt disallows the URL for a listed "
        "AI crawler in a group naming it: that crawler's purposes are reserved against ours",
    },
    purposes="a crawler documented for training reserves train-ai; for AI answers (ai-input) "
    "reserves ai-input; 'mixed' reserves both; search is never reserved by this profile",
    reading="A rights holder who blocks AI crawlers by name has reserved those uses even without "
    "naming us. Only groups naming a listed token count (the * groups are read by the robots "
    "check); groups naming it are merged and matched as RFC 9309 says, so an Allow for that "
    "crawler leaves the path unreserved. Tokens with digits are matched as the parser stores "
    "them (AI2Bot as 'ai'), which the data file accepts explicitly for each such entry. Tokens "
    "whose purpose the operator does not document are not listed. Can be turned off with the "
    "ai_crawler_profile setting.",
)
