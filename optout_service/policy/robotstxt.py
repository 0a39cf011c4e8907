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
and ``allow`` wins a tie. ``/robots.txt`` is always allowed.

Budgets (docs/robots.md, "Budgets"): parsing is one pass over the text and keeps at most a few
objects per rule; a lookup checks each rule at most once, and a wildcard pattern is matched by at
most ``MAX_SEGMENTS`` substring searches that move forward through the path (no regular
expressions, no backtracking). Every cut made to stay within these budgets reads the file more
strictly, never less: a pattern with too many segments is shortened when it disallows (it then
matches more paths) and ignored when it allows; a group with too many rules disallows everything.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from operator import attrgetter

MAX_LINE_CHARS = 2083 * 8  # google/robotstxt's limit for one line
# Beyond this many rules a group is cut, and what was cut is read as "Disallow: /" ranked above
# every other rule: the agents of that group are disallowed everywhere (fail closed).
MAX_RULES_PER_GROUP = 50_000
# A pattern is matched by at most this many '*'-separated segments (the real files we hold have at
# most 13). A longer disallow pattern keeps its first segments and loses its '$' (it matches more
# paths); a longer allow pattern is ignored (it matches none).
MAX_SEGMENTS = 16
# A lookup runs the full match for at most this many wildcard patterns: those whose literal
# prefix fits the path and that pass a quick test (the path ends with the last segment of a '$'
# pattern, or holds the first characters of another's last segment). The real files we hold need
# fewer than 512. Past it, a wildcard disallow is taken to match and a wildcard allow not to: the
# stricter reading, and a bound on the time one lookup can take whatever the file.
MAX_WILDCARD_CHECKS = 2_048
MAX_CRAWL_DELAY = 86_400.0  # seconds; a larger delay (or an overflowing one) is read as a day
# A parsed file keeps indexed rule sets for this many distinct sets of groups (the crawler's token
# and one more, in practice); other agents are answered by one scan without an index, so nothing
# a caller asks can grow a cached file beyond the size estimated when it was parsed.
MAX_AGENT_SETS = 2
MAX_CACHED_TOKENS = 4  # agent strings remembered per parsed file (others find their set again)
_BLOCK_CHARS = 1 << 16  # the text is split into lines this much at a time (bounds the peak)
_LINE_MASK = (1 << 32) - 1

_USER_AGENT, _ALLOW, _DISALLOW, _SITEMAP, _CRAWL_DELAY, _REQUEST_RATE, _EXTENSION = range(7)
_KEY_INITIALS = frozenset("uUaAdDsScCrRlL")  # first letters of every key below
# Lines other signals put in robots.txt, kept as written (key lowercased) for their checks:
# IETF AIPREF ``Content-Usage``, Cloudflare ``Content-Signal``, RSL ``License``.
EXTENSION_KEYS = frozenset({"content-usage", "content-signal", "license"})
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
    **dict.fromkeys(EXTENSION_KEYS, _EXTENSION),
}

# Characters a normalised path carries as they are: RFC 3986 unreserved and reserved characters,
# less '[' and ']' (RFC 3986 3.3 does not let a path carry them: a URL writes them %5B, %5D) and
# less '*' and '$' (RFC 9309 2.2.3: a rule names a literal '*' or '$' as %2A or %24, so a URL's
# literal ones are compared in that form). Everything else is percent-encoded before comparison.
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")  # a '%' that starts no escape: a literal
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PLAIN = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#@!&'()+,;="
)
_SAFE = _PLAIN | {"%"}
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-")
_DIGITS = frozenset("0123456789")
_WIDE_TOKEN_CHARS = _TOKEN_CHARS | _DIGITS
_TOKEN_PREFIX = re.compile(r"[A-Za-z_-]*")
_WIDE_TOKEN_PREFIX = re.compile(r"[A-Za-z0-9_-]*")
# At most 9 digits of requests: a longer count cannot be converted cheaply and means no limit.
_RATE_VALUE = re.compile(r"^\s*([0-9]{1,9})\s*/\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)", re.IGNORECASE)
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def normalise_path(value: str) -> str:
    """The form in which a URL's path and query is compared (RFC 9309 2.2.2, 2.2.3).

    Escapes of unreserved characters are decoded, other escapes upper-cased; a '%' that starts
    no escape, '*', '$', '[', ']' and every character a URI cannot carry as it is are encoded
    (as UTF-8). Two spellings of one URL that RFC 3986 and RFC 9309 call equivalent give the
    same string; ``%2F`` and ``/`` (a reserved character and its escape) stay distinct.
    """
    if _PLAIN.issuperset(value):
        return value  # nothing to encode or decode: the common case, checked in C
    if "%" in value:
        value = _ESCAPE.sub(_unescape, _STRAY_PERCENT.sub("%25", value))
        if _SAFE.issuperset(value):
            return value
    out: list[str] = []
    for char in value:
        if char in _SAFE:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", errors="surrogatepass"))
    return "".join(out)


def normalise_pattern(pattern: str) -> str:
    """The form in which a rule's pattern is compared: :func:`normalise_path` of each literal
    stretch, the wildcards ``*`` and a final ``$`` kept as operators (RFC 9309 2.2.3). A ``$``
    elsewhere is a literal and becomes ``%24``, as a URL's ``$`` does."""
    if _PLAIN.issuperset(pattern):
        return pattern
    anchored = pattern.endswith("$")
    body = pattern[:-1] if anchored else pattern
    if "*" in body:
        body = "*".join([normalise_path(part) for part in body.split("*")])
    else:
        body = normalise_path(body)
    return body + "$" if anchored else body


def _token_prefix(value: str) -> str:
    """The leading run of product-token characters (RFC 9309 2.2.1: ``[A-Za-z_-]``), as written."""
    match = _TOKEN_PREFIX.match(value)
    return match.group() if match is not None else ""


def _wide_prefix(value: str) -> str:
    """The leading run of product-token characters and digits, as written: the reading of
    parsers (Protego among them) that keep ``MJ12bot`` whole where RFC 9309 reads ``MJ``."""
    match = _WIDE_TOKEN_PREFIX.match(value)
    return match.group() if match is not None else ""


def wide_product_token(value: str) -> str:
    """:func:`product_token` with digits kept (``360Spider`` -> ``360spider``)."""
    value = value.strip()
    if value.startswith("*") and (len(value) == 1 or value[1] in " \t"):
        return "*"
    return _wide_prefix(value).lower()


def has_digit_reading(token: str) -> bool:
    """Whether ``token`` reads differently with digits kept: made of token characters and
    digits, with at least one digit (``AI2Bot``, ``img2dataset``, ``360Spider``)."""
    return (
        bool(token)
        and not _TOKEN_CHARS.issuperset(token)
        and _WIDE_TOKEN_CHARS.issuperset(token)
    )


def product_token(value: str) -> str:
    """The product token of a user-agent line's value, lower-cased; '*' for the wildcard."""
    value = value.strip()
    if value.startswith("*") and (len(value) == 1 or value[1] in " \t"):
        return "*"
    return _token_prefix(value).lower()


# Products that say which engine or browser a crawler imitates, not which crawler it is.
_GENERIC_PRODUCTS = frozenset(
    {
        "applewebkit",
        "chrome",
        "chromium",
        "compatible",
        "crios",
        "edg",
        "edge",
        "firefox",
        "fxios",
        "gecko",
        "headlesschrome",
        "khtml",
        "like",
        "mobile",
        "mozilla",
        "msie",
        "opera",
        "opr",
        "presto",
        "safari",
        "trident",
        "version",
        "webkit",
    }
)
# A product is ``name`` or ``name/version``; the name uses RFC 9110 token characters.
_PRODUCT = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:/\S*)?")


def _agent_products(user_agent: str) -> Iterator[str]:
    """The product names of a User-Agent value (RFC 9110 10.1.5) in order, comments included.

    Inside a comment only ``name/version`` items count, and every item after ``compatible``
    (``(Linux; Android 10)`` names no product; ``(compatible; FooBot; +http://...)`` does).
    """
    length = len(user_agent)
    index = 0
    while index < length:
        char = user_agent[index]
        if char.isspace():
            index += 1
        elif char == "(":
            depth = 0
            end = index
            while end < length:  # to the matching ')', or to the end when there is none
                if user_agent[end] == "(":
                    depth += 1
                elif user_agent[end] == ")":
                    depth -= 1
                    if depth == 0:
                        break
                end += 1
            compatible = False
            for raw in user_agent[index + 1 : end].split(";"):
                item = raw.strip()
                if item.lower() == "compatible":
                    compatible = True
                    continue
                match = _PRODUCT.fullmatch(item)
                if match is not None and (compatible or "/" in item):
                    yield match.group(1)
            index = end + 1
        else:
            end = index
            while end < length and not user_agent[end].isspace() and user_agent[end] != "(":
                end += 1
            match = _PRODUCT.fullmatch(user_agent[index:end].rstrip(";,"))
            if match is not None:
                yield match.group(1)
            index = end


def agent_product_token(user_agent: str) -> str:
    """The product token a user-agent string names, as written; "" when it names none.

    ``ExampleBot``, ``ExampleBot/1.0`` and ``Mozilla/5.0 (compatible; ExampleBot/1.0; +http://...)``
    all name ``ExampleBot``: the first product that is not a generic browser product (Mozilla,
    AppleWebKit, Chrome, Safari, ...), read with the grammar of user-agent lines
    (:func:`product_token`), so that the name a file's ``User-agent:`` line gives always selects
    that line's group. A string of browser products only names no crawler, and neither does one
    whose first other product has no token characters (``360Spider``, ``***``): both give "".
    """
    for name in _agent_products(user_agent):
        token = _wide_prefix(name)
        if token.lower() not in _GENERIC_PRODUCTS:
            return token
    return ""


@dataclass(slots=True)  # not frozen: a frozen __init__ costs a third of the parse; never mutated
class Rule:
    allow: bool
    pattern: str  # as written in the file
    normalised: str
    # The pattern (without a final '$') split at '*'; empty for a plain prefix, whose literal is
    # `normalised` (no tuple to allocate and track for most rules).
    segments: tuple[str, ...]
    anchored: bool  # ends with '$'
    # Sort key: longest pattern first, then allow before disallow, then file order; the low 32
    # bits are the 1-based line number (one int object per rule instead of two).
    rank: int
    kind: int  # 0: prefix, 1: whole path ('$', no '*'), 2: wildcard, 3: wildcard ending in '$'
    literal: str  # the part before the first '*' (the whole pattern when there is none)
    # A quick test a wildcard path must pass: for '$' patterns the last segment (the path ends
    # with it), otherwise the first _PROBE_CHARS characters of the last segment (the path holds
    # them; so short that `in` is linear). "" for other rules.
    last: str

    @property
    def line(self) -> int:
        return self.rank & _LINE_MASK

    @property
    def directive(self) -> str:
        return "allow" if self.allow else "disallow"

    def matches(self, path: str) -> bool:
        segments = self.segments
        if not segments:
            return path.startswith(self.normalised)
        first = segments[0]
        if len(segments) == 1:
            return path == first if self.anchored else path.startswith(first)
        if not path.startswith(first):
            return False
        last_index = len(segments) - 1
        last = segments[last_index]
        if self.anchored and not path.endswith(last):
            return False
        haystack = path if len(path) <= _DIRECT_PATH_CHARS else path + _PADDING
        # Leftmost match of each segment, each search starting where the last one ended: at most
        # MAX_SEGMENTS searches over disjoint stretches of the path.
        position = len(first)
        for index in range(1, last_index):
            segment = segments[index]
            found = haystack.find(segment, position)
            if found < 0:
                return False
            position = found + len(segment)
        if self.anchored:
            return len(path) - len(last) >= position
        return haystack.find(last, position) >= 0


# CPython's str.find compares up to (haystack x needle) characters for needles of 6 to 99
# characters in haystacks under 30,000 characters (e.g. "a" * 90 + "ba" in "a" * 8000 takes
# 0.2 ms), and switches to the linear two-way algorithm above that. Paths longer than
# _DIRECT_PATH_CHARS (where a search could cost more than 65,536 comparisons) are therefore
# searched with NUL padding behind them: the same results, since a normalised segment never
# holds a NUL, in linear time.
_DIRECT_PATH_CHARS = 256
_PADDING = "\x00" * 30_000
_PROBE_CHARS = 5  # below 6 characters str.find compares at most 5 per position


def _rank(length: int, allow: bool, line: int) -> int:
    return ((1 << 24) - length) << 33 | (0 if allow else 1) << 32 | (line & _LINE_MASK)


def make_rule(allow: bool, pattern: str, line: int) -> Rule | None:
    """A compiled rule, or None for a pattern that matches nothing.

    An empty pattern matches nothing. A pattern of more than ``MAX_SEGMENTS`` '*'-separated
    segments is cut: a disallow keeps its first segments without the final '$' (a superset of
    the paths it named, same rank), an allow is dropped (the empty subset). Either way a path the
    whole file disallows stays disallowed.
    """
    normalised = normalise_pattern(pattern)
    if not normalised:
        return None
    rank = _rank(len(normalised), allow, line)
    if "*" not in normalised and not normalised.endswith("$"):  # a plain prefix: most rules
        return Rule(allow, pattern, normalised, (), False, rank, 0, normalised, "")
    anchored = normalised.endswith("$")
    body = normalised[:-1] if anchored else normalised
    while "**" in body:
        body = body.replace("**", "*")
    if not anchored:
        body = body.rstrip("*")  # "/fish*" matches exactly what "/fish" does
    segments = tuple(body.split("*")) if body else ("",)
    if len(segments) > MAX_SEGMENTS:
        if allow:
            return None
        segments = segments[:MAX_SEGMENTS]
        anchored = False
    kind = (3 if anchored else 2) if len(segments) > 1 else int(anchored)
    last = segments[-1] if kind == 3 else segments[-1][:_PROBE_CHARS] if kind == 2 else ""
    return Rule(allow, pattern, normalised, segments, anchored, rank, kind, segments[0], last)


def _deny_all(line: int) -> Rule:
    """What a group's rules beyond MAX_RULES_PER_GROUP are read as: ``Disallow: /`` ranked
    above every real rule (real ranks start at 1 << 33), so no allow can win."""
    return Rule(False, "/", "", (), False, line & _LINE_MASK, 0, "", "")


@dataclass(frozen=True, slots=True)
class Extension:
    """A line of another signal's vocabulary (see EXTENSION_KEYS), as written."""

    key: str  # lowercased: "content-usage", "content-signal", "license"
    value: str  # after the colon, comment removed, surrounding blanks stripped
    line: int


@dataclass(slots=True)
class Group:
    agents: list[str] = field(default_factory=list)
    # The agents read with digits kept, when a line of this group reads differently so
    # (``User-agent: MJ12bot``: ``mj`` in `agents`, ``mj12bot`` here); None when none does.
    wide_agents: list[str] | None = None
    rules: list[Rule] = field(default_factory=list)
    crawl_delay: float | None = None
    request_rate: tuple[int, float] | None = None  # (requests, seconds)
    first_line: int = 0
    extensions: list[Extension] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Match:
    allowed: bool
    rule: Rule | None  # None: no rule matched (allowed by default)


INDEX_CHARS = 3  # rules are filed under the first characters of their literal prefix...
INDEX_MIN_RULES = 24  # ...when an agent has this many; fewer are simply checked in order
_RANK = attrgetter("rank")


def _first_before(
    candidates: tuple[Rule, ...], path: str, limit: int, checks: int | None
) -> tuple[Rule | None, int]:
    """The first of rank-ordered ``candidates`` matching ``path`` whose rank is below ``limit``,
    and the wildcard checks spent: ``checks`` so far, or None for an unbudgeted lookup."""
    spent = checks or 0
    for rule in candidates:
        if rule.rank >= limit:
            break
        kind = rule.kind
        if kind == 0:
            if path.startswith(rule.literal):
                return rule, spent
        elif kind == 1:
            if path == rule.literal:
                return rule, spent
        elif path.startswith(rule.literal) and (
            rule.last in path if kind == 2 else path.endswith(rule.last)
        ):
            # Only here can a lookup cost more than one pass over the path: budgeted.
            spent += 1
            if checks is None or spent <= MAX_WILDCARD_CHECKS:
                if rule.matches(path):
                    return rule, spent
            elif not rule.allow:
                return rule, spent  # past the budget: fail closed
    return None, spent


_NO_LIMIT = 1 << 64  # above every rank


class AgentRules:
    """The merged rules that apply to one product token, indexed for matching.

    Rules are checked in rank order and the first match decides. A rule whose literal prefix
    (the part before any ``*``) has at least ``INDEX_CHARS`` characters can only match paths
    that start with those characters, so large rule sets are filed by those characters: a path
    is checked against its bucket and against the short rules (kept apart, in rank order, each
    rule in exactly one place), and the better-ranked of the two first matches decides. The
    index holds a fixed number of references per rule.

    A set with more wildcard rules than MAX_WILDCARD_CHECKS is looked up with the budget
    counted; any other set cannot reach it, and takes the lean path. Without an index
    (:class:`ScannedRules`, for agents beyond MAX_AGENT_SETS) a lookup scans the rules once.
    """

    __slots__ = (
        "_buckets",
        "_budgeted",
        "_only_disallows",
        "_others",
        "_prefixes",
        "_ranked",
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
        # The rank-ordered rules once the tables are built, for sets the lean lookup serves;
        # None before, and always for budgeted sets (which then take _first_budgeted).
        self._ranked: tuple[Rule, ...] | None = None
        self._budgeted: bool | None = None  # None: tables not built yet
        self._others: tuple[Rule, ...] = ()
        self._buckets: dict[str, tuple[Rule, ...]] | None = None
        self._short: tuple[Rule, ...] = ()

    def _prepare(self) -> None:
        ranked = self.rules = tuple(sorted(self.rules, key=_RANK))
        self._others = tuple([r for r in ranked if r.kind != 0])
        if len(ranked) >= INDEX_MIN_RULES:
            buckets: dict[str, list[Rule]] = {}
            short: list[Rule] = []
            for rule in ranked:  # in rank order, so every bucket is too
                literal = rule.literal
                if len(literal) >= INDEX_CHARS:
                    bucket = buckets.get(literal[:INDEX_CHARS])
                    if bucket is None:
                        buckets[literal[:INDEX_CHARS]] = [rule]
                    else:
                        bucket.append(rule)
                else:
                    short.append(rule)
            self._buckets = {key: tuple(found) for key, found in buckets.items()}
            self._short = tuple(short)
        self._budgeted = sum(r.kind >= 2 for r in ranked) > MAX_WILDCARD_CHECKS
        if not self._budgeted:
            self._ranked = ranked

    def first(self, path: str) -> Rule | None:
        """The highest-ranked rule matching ``path`` (an already normalised path)."""
        ranked = self._ranked
        if ranked is None:
            if self._budgeted is None:
                self._prepare()
                return self.first(path)
            return self._first_budgeted(path)
        if not path.startswith(self._prefixes):
            candidates = self._others
        elif self._buckets is None:
            candidates = ranked
        else:
            return self._first_indexed(path)
        for rule in candidates:
            kind = rule.kind
            if kind == 0:
                if path.startswith(rule.literal):
                    return rule
            elif kind == 1:
                if path == rule.literal:
                    return rule
            elif (
                path.startswith(rule.literal)
                and (rule.last in path if kind == 2 else path.endswith(rule.last))
                and rule.matches(path)
            ):
                return rule
        return None

    def _first_indexed(self, path: str) -> Rule | None:
        assert self._buckets is not None
        found: Rule | None = None
        for rule in self._buckets.get(path[:INDEX_CHARS], ()):
            kind = rule.kind
            if kind == 0:
                if path.startswith(rule.literal):
                    found = rule
                    break
            elif kind == 1:
                if path == rule.literal:
                    found = rule
                    break
            elif (
                path.startswith(rule.literal)
                and (rule.last in path if kind == 2 else path.endswith(rule.last))
                and rule.matches(path)
            ):
                found = rule
                break
        short = self._short
        if short and (found is None or short[0].rank < found.rank):
            limit = found.rank if found is not None else _NO_LIMIT
            return _first_before(short, path, limit, None)[0] or found
        return found

    def _first_budgeted(self, path: str) -> Rule | None:
        """As :meth:`first`, counting wildcard checks against MAX_WILDCARD_CHECKS."""
        if not path.startswith(self._prefixes):
            return _first_before(self._others, path, _NO_LIMIT, 0)[0]
        if self._buckets is None:
            return _first_before(self.rules, path, _NO_LIMIT, 0)[0]
        found, spent = _first_before(self._buckets.get(path[:INDEX_CHARS], ()), path, _NO_LIMIT, 0)
        limit = found.rank if found is not None else _NO_LIMIT
        return _first_before(self._short, path, limit, spent)[0] or found

    def allows(self, path: str) -> bool:
        if self._only_disallows:
            return not path.startswith(self._prefixes)
        rule = self.first(path)
        return rule is None or rule.allow

    def match(self, path: str) -> Match:
        rule = self.first(path)
        return Match(True, None) if rule is None else Match(rule.allow, rule)


class ScannedRules(AgentRules):
    """Merged rules answered without an index: each lookup scans them once, in file order,
    for the best-ranked match, and nothing is built or kept."""

    __slots__ = ()

    def first(self, path: str) -> Rule | None:
        """The best-ranked match (same budget and reading as :meth:`AgentRules.first`)."""
        best: Rule | None = None
        checks = 0
        for rule in self.rules:
            if best is not None and rule.rank > best.rank:
                continue
            if rule.kind < 2:
                if rule.matches(path):
                    best = rule
            elif path.startswith(rule.literal) and (
                rule.last in path if rule.kind == 2 else path.endswith(rule.last)
            ):
                checks += 1
                if (not rule.allow) if checks > MAX_WILDCARD_CHECKS else rule.matches(path):
                    best = rule
        return best


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


def _line_blocks(text: str) -> Iterator[list[str]]:
    """The lines of ``text`` (split at LF), a block of about _BLOCK_CHARS at a time, so that the
    line strings of a large file never all exist at once."""
    start = 0
    while True:
        cut = text.find("\n", start + _BLOCK_CHARS)
        if cut < 0:
            yield (text[start:] if start else text).split("\n")
            return
        yield text[start:cut].split("\n")
        start = cut + 1


class RobotsTxt:
    """A parsed robots.txt. Build with :meth:`parse`; query with :meth:`allowed`."""

    __slots__ = (
        "_cache",
        "_merged",
        "_size",
        "extensions",
        "groups",
        "lines",
        "sitemaps",
        "unknown_keys",
    )

    def __init__(self) -> None:
        self.groups: list[Group] = []
        self.sitemaps: list[str] = []
        # Extension lines before the first group (file-level statements).
        self.extensions: list[Extension] = []
        self.unknown_keys: int = 0  # unknown lines met (lines of skipped groups are not read)
        self.lines: int = 0
        self._cache: dict[str, AgentRules] = {}  # at most MAX_CACHED_TOKENS
        self._merged: dict[tuple[int, ...], AgentRules] = {}  # at most MAX_AGENT_SETS
        self._size: int | None = None

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
        blocks = (text.split("\n"),) if len(text) <= _BLOCK_CHARS else _line_blocks(text)
        for block in blocks:
            first = number + 1
            for number, line in enumerate(block, start=first):
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
                    if line[0] not in _KEY_INITIALS:  # e.g. an HTML error page as robots.txt
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
                    wide = token
                    cut = len(token)
                    if len(value) > cut and value[cut] in _DIGITS:
                        wide = wide_product_token(value)
                        if group.wide_agents is None:
                            group.wide_agents = list(group.agents)
                    if token:
                        group.agents.append(token)
                        keep = keep or wanted is None or token in wanted
                    if group.wide_agents is not None and wide:
                        group.wide_agents.append(wide)
                        keep = keep or wanted is None or wide in wanted
                elif code <= _DISALLOW:
                    if group is None:
                        continue  # rules outside any group are ignored
                    in_agents = False
                    if not (keep and value):
                        continue
                    count = len(group.rules)
                    if count >= MAX_RULES_PER_GROUP:
                        if count == MAX_RULES_PER_GROUP:  # the cut part: fail closed
                            group.rules.append(_deny_all(number))
                        continue
                    allow = code == _ALLOW
                    # A value of _PLAIN characters holds no '*', '$' or '%': a plain prefix.
                    if not _PLAIN.issuperset(value):
                        rule = make_rule(allow, value, number)
                        if rule is not None:
                            group.rules.append(rule)
                    else:  # a plain prefix, already in normal form: most rules
                        group.rules.append(
                            Rule(
                                allow,
                                value,
                                value,
                                (),
                                False,
                                ((1 << 24) - len(value)) << 33 | (0 if allow else 1) << 32 | number,
                                0,
                                value,
                                "",
                            )
                        )
                elif code == _SITEMAP:
                    if value:
                        robots.sitemaps.append(value)
                elif code == _EXTENSION:
                    if value:
                        extension = Extension(key, value.rstrip(" \t"), number)
                        if group is None:
                            robots.extensions.append(extension)
                        elif keep:
                            group.extensions.append(extension)
                elif code == _CRAWL_DELAY:
                    if group is not None and keep:
                        group.crawl_delay = _parse_delay(value, group.crawl_delay)
                elif group is not None and keep:  # request-rate
                    group.request_rate = _stricter_rate(_parse_rate(value), group.request_rate)
        robots.lines = number
        robots.unknown_keys = unknown
        if wanted is not None:
            robots.groups = [
                g
                for g in robots.groups
                if any(a in wanted for a in g.agents)
                or any(a in wanted for a in g.wide_agents or ())
            ]
        return robots

    def rules_for(self, token: str, wide: bool = False) -> AgentRules:
        """The merged rules applying to ``token``, a product token matched exactly.

        A value that is not a valid product token (``Foo Bar``, ``Foo/1.0``) names no group,
        so only the ``*`` groups can apply to it, as in Google's reference parser (the self-check
        reads a user-agent string with :func:`agent_product_token` first). A token with digits
        (``AI2Bot``) has two readings: RFC 9309's and google/robotstxt's, in which digits end
        the token of a user-agent line (``User-agent: AI2Bot`` names ``AI``), so no line names
        it and the ``*`` groups apply; and, with ``wide``, Protego's, which keeps the digits of
        the line (``ai2bot``). :meth:`match` and :meth:`allowed` take the stricter answer.
        """
        key = "\x00" + token if wide else token
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        groups = self.groups_for(token, wide)
        chosen = tuple(id(g) for g in groups)
        result = self._merged.get(chosen)
        if result is None:
            if not groups:
                result = _NO_RULES
            else:
                # Sorted into rank order only if a lookup needs more than the prefix test.
                rules = [rule for g in groups for rule in g.rules]
                delays = [g.crawl_delay for g in groups if g.crawl_delay is not None]
                rates = [g.request_rate for g in groups if g.request_rate is not None]
                indexed = len(self._merged) < MAX_AGENT_SETS
                result = (AgentRules if indexed else ScannedRules)(
                    tuple(rules),
                    max(delays) if delays else None,  # the strictest of the merged groups
                    min(rates, key=lambda r: r[0] / r[1]) if rates else None,
                    len(groups),
                )
                if not indexed:
                    return result  # built for this call only: nothing is kept
                self._merged[chosen] = result
        if len(self._cache) < MAX_CACHED_TOKENS:
            self._cache[key] = result
        return result

    def groups_for(self, token: str, wide: bool = False) -> list[Group]:
        """The groups that apply to ``token``: those naming it, else the ``*`` groups (2.2.1).

        See :meth:`rules_for` for the two readings of a token with digits."""
        if not token:
            key = ""
        elif _TOKEN_CHARS.issuperset(token) or (wide and _WIDE_TOKEN_CHARS.issuperset(token)):
            key = token.lower()
        else:
            key = ""  # not a token (RFC reading: a token with digits names no group)
        if wide and key:
            groups = [g for g in self.groups if key in (g.wide_agents or g.agents)]
        else:
            groups = [g for g in self.groups if key in g.agents] if key else []
        if not groups:
            groups = [g for g in self.groups if "*" in g.agents]
        return groups

    def extensions_for(self, token: str, key: str) -> tuple[list[Extension], list[Extension]]:
        """Extension lines named ``key`` (lowercase): those of the groups that apply to
        ``token`` (under both readings of a token with digits), and the file-level ones
        (before the first group)."""
        groups = self.groups_for(token)
        if has_digit_reading(token):
            groups += [g for g in self.groups_for(token, True) if g not in groups]
        in_groups = [e for g in groups for e in g.extensions if e.key == key]
        return in_groups, [e for e in self.extensions if e.key == key]

    def match(self, path_query: str, token: str) -> Match:
        path = normalise_path(path_query or "/")
        if path == "/robots.txt":
            return Match(True, None)  # RFC 9309 2.2.2: always allowed
        found = self.rules_for(token).match(path)
        if found.allowed and has_digit_reading(token):
            other = self.rules_for(token, True).match(path)
            if not other.allowed:
                return other  # the stricter of the two readings
        return found

    def allowed(self, path_query: str, token: str) -> bool:
        path = normalise_path(path_query or "/")
        if path == "/robots.txt":
            return True
        rules = self._cache.get(token)
        if not (rules if rules is not None else self.rules_for(token)).allows(path):
            return False
        return not has_digit_reading(token) or self.rules_for(token, True).allows(path)

    def crawl_delay(self, token: str) -> float | None:
        delay = self.rules_for(token).crawl_delay
        if has_digit_reading(token):
            other = self.rules_for(token, True).crawl_delay
            if other is not None and (delay is None or other > delay):
                delay = other
        return delay

    def request_rate(self, token: str) -> tuple[int, float] | None:
        rate = self.rules_for(token).request_rate
        if has_digit_reading(token):
            other = self.rules_for(token, True).request_rate
            if other is not None and (rate is None or other[0] / other[1] < rate[0] / rate[1]):
                rate = other
        return rate

    def estimated_bytes(self) -> int:
        """The memory this parsed file holds and may come to hold, in bytes.

        Counted from what it holds (CPython object sizes of its rules, strings, groups and
        sitemaps) plus room for the indexes of MAX_AGENT_SETS agents, which are built on first
        use. Computed once, in O(rules); docs/robots.md compares it with tracemalloc.
        """
        if self._size is not None:
            return self._size
        size = _FILE_BYTES + sys.getsizeof(self.groups) + sys.getsizeof(self.sitemaps)
        size += sum(map(sys.getsizeof, self.sitemaps))
        extensions = [*self.extensions, *(e for g in self.groups for e in g.extensions)]
        size += sum(_EXTENSION_BYTES + sys.getsizeof(e.value) for e in extensions)
        rules = 0
        keys: set[str] = set()
        for group in self.groups:
            size += _GROUP_BYTES + sys.getsizeof(group.agents) + sys.getsizeof(group.rules)
            size += sum(map(sys.getsizeof, group.agents))
            if group.wide_agents is not None:
                size += sys.getsizeof(group.wide_agents)
                size += sum(map(sys.getsizeof, group.wide_agents))
            rules += len(group.rules)
            for rule in group.rules:
                size += _RULE_BYTES + sys.getsizeof(rule.pattern)
                if rule.normalised is not rule.pattern:
                    size += sys.getsizeof(rule.normalised)
                if rule.segments:
                    size += sys.getsizeof(rule.segments) + sum(map(sys.getsizeof, rule.segments))
                    if rule.last is not rule.segments[-1]:
                        size += sys.getsizeof(rule.last)
                if len(rule.literal) >= INDEX_CHARS:
                    keys.add(rule.literal[:INDEX_CHARS])
        # Per indexed agent: the rank-ordered tuple, the prefix tuple, the wildcard tuple and
        # the bucket or short-list slot (a reference each per rule), the buckets themselves,
        # and the key naming the merged groups.
        index = _AGENT_BYTES + 4 * 8 * rules + 40 * len(self.groups)
        if rules >= INDEX_MIN_RULES:  # only then are buckets built
            index += sys.getsizeof({}) + len(keys) * _BUCKET_BYTES
        self._size = size + MAX_AGENT_SETS * index
        return self._size


# Object sizes behind estimated_bytes (measured on this interpreter, so they follow its layout).
_RULE_BYTES = sys.getsizeof(_deny_all(1)) + sys.getsizeof(1 << 56)  # the rule and its rank
_GROUP_BYTES = sys.getsizeof(Group()) + sys.getsizeof(1.0) + sys.getsizeof([])
_EXTENSION_BYTES = sys.getsizeof(Extension("license", "", 1)) + 8  # and its list slot
_AGENT_BYTES = sys.getsizeof(_NO_RULES) + 4 * sys.getsizeof(())
# One bucket: its tuple header, its 3-character key, and its share of the dict's table.
_BUCKET_BYTES = sys.getsizeof(()) + sys.getsizeof("abc") + 48
# The object, and its two memo dicts at their bounds: MAX_CACHED_TOKENS agent strings (of at
# most 100 characters on the crawl path) and MAX_AGENT_SETS keys.
_FILE_BYTES = (
    sys.getsizeof(RobotsTxt())
    + 2 * sys.getsizeof(dict.fromkeys(range(MAX_CACHED_TOKENS)))
    + MAX_CACHED_TOKENS * sys.getsizeof("x" * 100)
    + MAX_AGENT_SETS * sys.getsizeof(())
)


def _parse_delay(value: str, current: float | None) -> float | None:
    words = value.split(maxsplit=1)
    try:
        delay = float(words[0]) if words else float("nan")
    except ValueError:
        return current
    if delay != delay or delay < 0:
        return current
    delay = min(delay, MAX_CRAWL_DELAY)  # also an overflowing value such as 1e999
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
    # Never more than MAX_CRAWL_DELAY between two requests (and never an infinite interval).
    return requests, min(seconds, requests * MAX_CRAWL_DELAY)
