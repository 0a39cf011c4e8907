"""An RFC 9309 robots.txt parser and matcher.

Parsing follows RFC 9309 section 2 and, where the RFC leaves room, Google's reference parser:
lines end at CR, LF or CRLF; ``#`` starts a comment; a missing colon is accepted when the line is
exactly two words; common misspellings of the keys are accepted; lines are cut at 16,664
characters. A group is one or more ``user-agent`` lines followed by rules; only an ``allow`` or
``disallow`` line ends the run of ``user-agent`` lines, so ``sitemap``, ``crawl-delay`` or unknown
lines between them do not split a group (2.2.4). Rules before the first ``user-agent`` line are
ignored. A ``user-agent`` value is reduced to its product token (the leading run of
``[A-Za-z_-]``) and compared case-insensitively and exactly. All groups naming an agent are
merged; the ``*`` groups apply only when no group names it.

Matching (2.2.2, 2.2.3): paths and patterns are compared after the same normalisation (non-ASCII
and other characters that URIs cannot carry are percent-encoded as UTF-8, escapes of unreserved
characters are decoded, other escapes are upper-cased, so ``%2F`` stays distinct from ``/``).
``*`` matches any sequence, a final ``$`` anchors the end. The rule with the longest pattern wins
and ``allow`` wins a tie. ``/robots.txt`` is always allowed. Matching is linear in the path per
pattern segment: no regular expressions, no backtracking blow-up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

MAX_LINE_CHARS = 2083 * 8  # google/robotstxt's limit for one line
MAX_RULES_PER_GROUP = 50_000  # beyond this a group is cut; a decision still fails closed on it

_USER_AGENT, _ALLOW, _DISALLOW, _SITEMAP, _CRAWL_DELAY, _REQUEST_RATE = range(6)
_KEY_INITIALS = frozenset("uUaAdDsScCrR")  # first letters of every key below
_KEYS = {
    **dict.fromkeys(("user-agent", "useragent", "user agent"), _USER_AGENT),
    "allow": _ALLOW,
    # The misspellings google/robotstxt accepts.
    **dict.fromkeys(
        ("disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"), _DISALLOW
    ),
    **dict.fromkeys(("sitemap", "site-map"), _SITEMAP),
    **dict.fromkeys(("crawl-delay", "crawldelay", "crawl delay"), _CRAWL_DELAY),
    **dict.fromkeys(("request-rate", "requestrate", "request rate"), _REQUEST_RATE),
}

# Characters a path may carry as they are (RFC 3986 unreserved + reserved + '%'); anything
# else is percent-encoded before comparison.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_SAFE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_PLAIN = _SAFE - {"%"}
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
_RATE_VALUE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalise_path(value: str) -> str:
    """The form in which paths and patterns are compared (RFC 9309 2.2.2)."""
    if "%" not in value and _PLAIN.issuperset(value):
        return value  # nothing to encode or decode: the common case, checked in C
    if "%" in value:
        value = _ESCAPE.sub(_unescape, value)
    if all(c in _SAFE for c in value):
        return value
    out: list[str] = []
    for char in value:
        if char in _SAFE:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", errors="surrogatepass"))
    return "".join(out)


def product_token(value: str) -> str:
    """The product token of a user-agent line's value, lower-cased; '*' for the wildcard."""
    value = value.strip()
    if value.startswith("*") and (len(value) == 1 or value[1] in " \t"):
        return "*"
    end = 0
    for char in value:
        if char not in _TOKEN_CHARS:
            break
        end += 1
    return value[:end].lower()


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a third of the parse; never mutated
class Rule:
    allow: bool
    pattern: str  # as written in the file
    line: int  # 1-based line number in the file
    normalised: str
    priority: int
    # The pattern (without a final '$') split at '*'; empty for a plain prefix, whose literal is
    # `normalised` (no tuple to allocate and track for most rules).
    segments: tuple[str, ...]
    anchored: bool  # ends with '$'
    rank: int  # sort key: longest pattern first, then allow before disallow, then file order
    kind: int  # 0: prefix, 1: whole path ('$', no '*'), 2: wildcard
    literal: str  # the part before the first '*' (the whole pattern when there is none)
    last: str  # the last '*'-separated segment of a wildcard pattern, else ""

    @property
    def directive(self) -> str:
        return "allow" if self.allow else "disallow"

    def matches(self, path: str) -> bool:
        if not self.segments:
            return path.startswith(self.normalised)
        segments = self.segments
        first = segments[0]
        if len(segments) == 1:
            return path == first if self.anchored else path.startswith(first)
        if not path.startswith(first):
            return False
        position = len(first)
        last_index = len(segments) - 1
        for index in range(1, last_index):
            found = path.find(segments[index], position)
            if found < 0:
                return False
            position = found + len(segments[index])
        last = segments[last_index]
        if self.anchored:
            return len(path) - len(last) >= position and path.endswith(last)
        return path.find(last, position) >= 0


def make_rule(allow: bool, pattern: str, line: int) -> Rule | None:
    """A compiled rule, or None for an empty pattern (which matches nothing)."""
    normalised = normalise_path(pattern)
    if not normalised:
        return None
    if "*" not in normalised and not normalised.endswith("$"):  # a plain prefix: most rules
        rank = ((1 << 24) - len(normalised)) << 33 | (0 if allow else 1) << 32 | line
        return Rule(
            allow, pattern, line, normalised, len(normalised), (), False, rank, 0, normalised, ""
        )
    anchored = normalised.endswith("$")
    body = normalised[:-1] if anchored else normalised
    while "**" in body:
        body = body.replace("**", "*")
    if not anchored:
        body = body.rstrip("*")  # "/fish*" matches exactly what "/fish" does
    segments = tuple(body.split("*")) if body else ("",)
    rank = ((1 << 24) - len(normalised)) << 33 | (0 if allow else 1) << 32 | line
    kind = 2 if len(segments) > 1 else int(anchored)
    last = segments[-1] if kind == 2 else ""
    return Rule(
        allow,
        pattern,
        line,
        normalised,
        len(normalised),
        segments,
        anchored,
        rank,
        kind,
        segments[0],
        last,
    )


@dataclass(slots=True)
class Group:
    agents: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None
    request_rate: tuple[int, float] | None = None  # (requests, seconds)
    first_line: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    allowed: bool
    rule: Rule | None  # None: no rule matched (allowed by default)


INDEX_CHARS = 3  # rules are filed under the first characters of their literal prefix...
INDEX_MIN_RULES = 24  # ...when an agent has this many; fewer are simply checked in order
_RANK = attrgetter("rank")


class AgentRules:
    """The merged rules that apply to one product token, indexed for matching.

    Rules are checked in rank order and the first match decides. A rule whose literal prefix
    (the part before any ``*``) has at least ``INDEX_CHARS`` characters can only match paths
    that start with those characters. Large rule sets are therefore filed by those characters:
    a path is checked against its bucket, which also holds, in rank order, the short rules that
    could match anything.
    """

    __slots__ = (
        "_buckets",
        "_checks",
        "_only_disallows",
        "_others",
        "_prefixes",
        "_short",
        "crawl_delay",
        "groups",
        "request_rate",
        "rules",
    )

    def __init__(
        self,
        rules: tuple[Rule, ...],
        crawl_delay: float | None,
        request_rate: tuple[int, float] | None,
        groups: int,
    ) -> None:
        self.rules = rules  # in file order until the tables are built, then in rank order
        self.crawl_delay = crawl_delay
        self.request_rate = request_rate
        self.groups = groups
        # One C call tells whether any plain-prefix rule can match: when none does, only the
        # '$' and wildcard rules are left to check; when all rules are plain-prefix disallows,
        # it is the whole answer (and the tables below are never built).
        self._prefixes = tuple([r.literal for r in rules if r.kind == 0])
        self._only_disallows = all(r.kind == 0 and not r.allow for r in rules)
        self._checks: tuple[Rule, ...] | None = None
        self._others: tuple[Rule, ...] = ()
        self._buckets: dict[str, tuple[Rule, ...]] | None = None
        self._short: tuple[Rule, ...] = ()

    def _prepare(self) -> tuple[Rule, ...]:
        rules = self.rules = tuple(sorted(self.rules, key=_RANK))
        self._checks = rules
        self._others = tuple([r for r in rules if r.kind != 0])
        if len(rules) >= INDEX_MIN_RULES:
            buckets: dict[str, list[Rule]] = {}
            for rule in rules:
                if len(rule.literal) >= INDEX_CHARS:
                    buckets.setdefault(rule.literal[:INDEX_CHARS], [])
            for rule in rules:
                if len(rule.literal) >= INDEX_CHARS:
                    buckets[rule.literal[:INDEX_CHARS]].append(rule)
                else:
                    for bucket in buckets.values():
                        bucket.append(rule)
            self._buckets = {key: tuple(found) for key, found in buckets.items()}
            self._short = tuple([r for r in rules if len(r.literal) < INDEX_CHARS])
        return rules

    def first(self, path: str) -> Rule | None:
        """The highest-ranked rule matching ``path`` (an already normalised path)."""
        all_rules = self._checks if self._checks is not None else self._prepare()
        if not path.startswith(self._prefixes):
            candidates = self._others
        elif self._buckets is None:
            candidates = all_rules
        else:
            candidates = self._buckets.get(path[:INDEX_CHARS], self._short)
        for rule in candidates:
            kind = rule.kind
            if kind == 0:
                if path.startswith(rule.literal):
                    return rule
            elif kind == 1:
                if path == rule.literal:
                    return rule
            elif path.startswith(rule.literal) and rule.last in path and rule.matches(path):
                return rule
        return None

    def allows(self, path: str) -> bool:
        if self._only_disallows:
            return not path.startswith(self._prefixes)
        rule = self.first(path)
        return rule is None or rule.allow

    def match(self, path: str) -> Match:
        rule = self.first(path)
        return Match(True, None) if rule is None else Match(rule.allow, rule)


_NO_RULES = AgentRules((), None, None, 0)


def split_key_value(line: str) -> tuple[str, str] | None:
    """``key: value`` of one comment-free, stripped line; None when it is not a record."""
    key, sep, value = line.partition(":")
    if not sep:
        # A forgotten colon is accepted when the line is exactly two words.
        parts = line.split()
        if len(parts) != 2:
            return None
        key, value = parts
    key = key.strip(" \t").lower()
    if not key:
        return None
    return key, value.strip(" \t")


class RobotsTxt:
    """A parsed robots.txt. Build with :meth:`parse`; query with :meth:`allowed`."""

    __slots__ = ("_cache", "_merged", "groups", "lines", "sitemaps", "unknown_keys")

    def __init__(self) -> None:
        self.groups: list[Group] = []
        self.sitemaps: list[str] = []
        self.unknown_keys: int = 0  # unknown lines met (lines of skipped groups are not read)
        self.lines: int = 0
        self._cache: dict[str, AgentRules] = {}
        self._merged: dict[tuple[int, ...], AgentRules] = {}  # by the groups merged

    @classmethod
    def parse(cls, text: str, tokens: Iterable[str] | None = None) -> RobotsTxt:
        """Parse ``text``. With ``tokens``, rules of groups naming none of them (nor ``*``)
        are not kept: they can never apply to those crawlers."""
        wanted = None if tokens is None else {t.lower() for t in tokens} | {"*"}
        robots = cls()
        group: Group | None = None
        keep = False
        in_agents = False  # the last record was user-agent (or a non-rule after one)
        if text.startswith("\ufeff"):
            text = text[1:]  # a byte order mark is not part of the first line
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        number = 0
        unknown = 0
        for number, line in enumerate(text.split("\n"), start=1):
            if not line:
                continue
            if len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS]
            if "#" in line:
                line = line[: line.index("#")]
            line = line.strip(" \t")
            if not line:
                continue
            if not keep and not in_agents and group is not None and line[0] not in "uUsS":
                # Inside a group we do not keep only user-agent and sitemap lines matter.
                continue
            key, sep, value = line.partition(":")
            if sep:
                key = key.rstrip(" \t").lower()
                value = value.lstrip(" \t")
            else:
                if line[0] not in _KEY_INITIALS:  # e.g. an HTML error page served as robots.txt
                    unknown += 1
                    continue
                pair = split_key_value(line)
                if pair is None:
                    unknown += 1
                    continue
                key, value = pair
            code = _KEYS.get(key)
            if code is None:
                unknown += 1
            elif code == _USER_AGENT:
                if group is None or not in_agents:
                    group = Group(first_line=number)
                    robots.groups.append(group)
                    keep = False
                    in_agents = True
                token = product_token(value)
                if token:
                    group.agents.append(token)
                    keep = keep or wanted is None or token in wanted
            elif code <= _DISALLOW:
                if group is None:
                    continue  # rules outside any group are ignored
                in_agents = False
                if keep and value and len(group.rules) < MAX_RULES_PER_GROUP:
                    allow = code == _ALLOW
                    if (
                        "*" in value
                        or "%" in value
                        or value[-1] == "$"
                        or not _PLAIN.issuperset(value)
                    ):
                        rule = make_rule(allow, value, number)
                        if rule is not None:
                            group.rules.append(rule)
                    else:  # a plain prefix, already in normal form: most rules
                        rank = ((1 << 24) - len(value)) << 33 | (0 if allow else 1) << 32 | number
                        group.rules.append(
                            Rule(
                                allow,
                                value,
                                number,
                                value,
                                len(value),
                                (),
                                False,
                                rank,
                                0,
                                value,
                                "",
                            )
                        )
            elif code == _SITEMAP:
                if value:
                    robots.sitemaps.append(value)
            elif code == _CRAWL_DELAY:
                if group is not None and keep:
                    group.crawl_delay = _parse_delay(value, group.crawl_delay)
            elif group is not None and keep:  # request-rate
                group.request_rate = _stricter_rate(_parse_rate(value), group.request_rate)
        robots.lines = number
        robots.unknown_keys = unknown
        if wanted is not None:
            robots.groups = [g for g in robots.groups if any(a in wanted for a in g.agents)]
        return robots

    def rules_for(self, token: str) -> AgentRules:
        """The merged rules applying to ``token``, a product token matched exactly.

        A value that is not a valid product token (``Foo Bar``, ``Foo/1.0``) names no group,
        so only the ``*`` groups can apply to it, as in Google's reference parser.
        """
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        key = token.lower() if token and all(c in _TOKEN_CHARS for c in token) else ""
        groups = [g for g in self.groups if key in g.agents] if key else []
        if not groups:
            groups = [g for g in self.groups if "*" in g.agents]
        chosen = tuple(id(g) for g in groups)
        merged = self._merged.get(chosen)
        if merged is not None:
            result = merged  # another token falls under the same groups (usually '*')
        elif not groups:
            result = _NO_RULES
        else:
            # Sorted into rank order only if a lookup needs more than the prefix test.
            rules = [rule for g in groups for rule in g.rules]
            delays = [g.crawl_delay for g in groups if g.crawl_delay is not None]
            rates = [g.request_rate for g in groups if g.request_rate is not None]
            result = AgentRules(
                tuple(rules),
                max(delays) if delays else None,  # the strictest of the merged groups
                min(rates, key=lambda r: r[0] / r[1]) if rates else None,
                len(groups),
            )
            self._merged[chosen] = result
        self._cache[token] = result
        return result

    def match(self, path_query: str, token: str) -> Match:
        path = normalise_path(path_query or "/")
        if path == "/robots.txt":
            return Match(True, None)  # RFC 9309 2.2.2: always allowed
        return self.rules_for(token).match(path)

    def allowed(self, path_query: str, token: str) -> bool:
        path = normalise_path(path_query or "/")
        if path == "/robots.txt":
            return True
        rules = self._cache.get(token)
        return (rules if rules is not None else self.rules_for(token)).allows(path)

    def crawl_delay(self, token: str) -> float | None:
        return self.rules_for(token).crawl_delay

    def request_rate(self, token: str) -> tuple[int, float] | None:
        return self.rules_for(token).request_rate


def _parse_delay(value: str, current: float | None) -> float | None:
    try:
        delay = float(value.split()[0]) if value.split() else float("nan")
    except ValueError:
        return current
    if delay != delay or delay < 0 or delay == float("inf"):
        return current
    return delay if current is None else max(current, delay)


def _stricter_rate(
    new: tuple[int, float] | None, current: tuple[int, float] | None
) -> tuple[int, float] | None:
    if new is None or current is None:
        return new or current
    return new if new[0] / new[1] < current[0] / current[1] else current


def _parse_rate(value: str) -> tuple[int, float] | None:
    match = _RATE_VALUE.match(value)
    if match is None:
        return None
    requests = int(match.group(1))
    seconds = float(match.group(2)) * _UNIT_SECONDS[match.group(3).lower()]
    if requests <= 0 or seconds <= 0:
        return None
    return requests, seconds
