"""Spawning's ``/ai.txt``: which files of a site may go into AI training datasets.

The file (Spawning, 2023, https://site.spawning.ai/spawning-ai-txt) uses robots.txt syntax:
``User-Agent`` groups with ``Allow``/``Disallow`` lines whose values are mostly file-extension
globs (``Disallow: *.jpg``) or whole-site patterns (``Disallow: /``, ``Disallow: *``). Spawning's
generator writes one ``User-Agent: *`` group listing the extensions of the media types the site
opts out of (text, images, audio, video, code) and, when every type is opted out, ``Disallow: /``
and ``Disallow: *``. Parsing reuses the robots.txt machinery of
:mod:`optout_service.policy.robotstxt` (``product_token`` for agents, ``make_rule`` and
``normalise_path`` for patterns, ``RobotsTxt`` for group selection and longest-match ranking):
there is one glob engine.

Where ai.txt differs from robots.txt, and our reading of it:

* A pattern that starts with neither ``/`` nor ``*`` (``.pdf``, ``jpg``, ``images/``) matches no
  path under RFC 9309, but in ai.txt it names a kind of file: it is read as if it began with
  ``*`` (``.pdf`` matches any path containing ``.pdf``). ``*.jpg`` is a robots.txt wildcard: it
  matches any path (query included) that contains ``.jpg``, which includes every ``.jpg`` file.
* Paths are matched as written and also case-folded: ``Disallow: *.jpg`` reserves
  ``/IMG_0001.JPG`` too (a file type does not change with the case of its name). A URL is
  disallowed when either reading disallows it.
* Rules before the first ``User-Agent`` line form a ``User-Agent: *`` group (robots.txt ignores
  them; a hand-written ``Disallow: /`` alone still states an opt-out).
* Keys seen in the wild beside the robots.txt ones: ``Allowed``/``Disallowed`` are read as
  ``Allow``/``Disallow``; ``Allow<Media>``/``Disallow<Media>`` (``DisallowImage``,
  ``Disallow-Images``, ``DisallowText``, ``DisallowAudio``, ``DisallowVideo``, ``DisallowCode``)
  are read as the generator's extension list of that media type under the given path
  (``DisallowImage: /art/`` is ``Disallow: /art/*.jpg``, ``/art/*.png``, ...). ``Sitemap``,
  ``Crawl-delay``, ``Request-rate`` and ``Host`` are ignored; any other key is recorded
  (``ai_txt.unknown_key``), never an error.
* The group that applies is our token's (all groups naming it, merged), else the ``*`` groups,
  exactly as for robots.txt.

Fail-closed rule (the kind ``ai_txt``):

* 2xx: the body is parsed. An empty file (or comments only) states nothing. A body that is HTML
  (a soft 404 page), binary, or has no ai.txt record at all is **no valid statement**: nothing
  is reserved and ``ai_txt.malformed`` is noted.
* 4xx other than 429: there is no ai.txt: no statement.
* 5xx, 429, a timeout, a network error, too many redirects, a refused address: the file may
  exist and reserve everything, so the fetch is refused (``ai_txt.unreachable``).
* A file with more than ``MAX_RULES`` rules is cut there, and the cut part is read as
  ``Disallow: /`` for every agent (``ai_txt.disallowed``): what was not read may reserve.

Parsing is one pass over the lines (at most ``MAX_LINE_CHARS`` characters each) and keeps at
most ``MAX_RULES`` rules, so its time and memory are linear in the body, which the fetcher caps.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

from optout_service.checks.base import Finding, NoLinks, SignalInfo, Site, note, refusal
from optout_service.outcomes import FetchOutcome
from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import (
    MAX_LINE_CHARS,
    Group,
    Match,
    RobotsTxt,
    Rule,
    make_rule,
    normalise_path,
    product_token,
    split_key_value,
)
from optout_service.purposes import Purpose

KIND = "ai_txt"
PATH = "/ai.txt"

MAX_RULES = 50_000  # rules kept per file; past it the rest reads as "Disallow: /"
MAX_NOTED_KEYS = 8  # distinct unknown keys named in the note (the count is always given)
_SNIFF_BYTES = 8192  # how much of the body is looked at to tell HTML or binary from text


class AiTxtReason(StrEnum):
    # ai.txt disallows the URL for the group that applies to us: training is reserved.
    AI_TXT_DISALLOWED = "ai_txt.disallowed"
    # An ai.txt Allow line decides for the URL: an explicit permission to train.
    AI_TXT_ALLOWED = "ai_txt.allowed"
    # ai.txt answered 5xx/429, timed out or could not be reached: the fetch is refused.
    AI_TXT_UNREACHABLE = "ai_txt.unreachable"
    # ai.txt answered 2xx with HTML, binary or no record: no valid statement (noted).
    AI_TXT_MALFORMED = "ai_txt.malformed"
    # ai.txt holds keys we do not read (noted, with their names).
    AI_TXT_UNKNOWN_KEY = "ai_txt.unknown_key"


State = Literal["ok", "absent", "unreachable", "malformed"]

# The file types of Spawning's generator, by the media toggles it offers. Jetpack's copy of the
# generator's output (Automattic/jetpack, projects/packages/ai-crawler-control, "This list was
# created via Spawning AI") lists the extensions in this order.
MEDIA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "text": ("txt", "pdf", "doc", "docx", "odt", "rtf", "tex", "wks", "wpd", "wps", "html"),
    "image": ("bmp", "gif", "ico", "jpeg", "jpg", "png", "svg", "tif", "tiff", "webp"),
    "audio": ("aac", "aiff", "amr", "flac", "m4a", "mp3", "oga", "opus", "wav", "wma"),
    "video": ("mp4", "webm", "ogg", "avi", "mov", "wmv", "flv", "mkv"),
    "code": (
        "py",
        "js",
        "java",
        "c",
        "cpp",
        "cs",
        "h",
        "css",
        "php",
        "swift",
        "go",
        "rb",
        "pl",
        "sh",
        "sql",
    ),
}
_MEDIA_ALIASES = {
    "text": "text",
    "texts": "text",
    "image": "image",
    "images": "image",
    "img": "image",
    "audio": "audio",
    "video": "video",
    "videos": "video",
    "code": "code",
}

_AGENT, _ALLOW, _DISALLOW, _IGNORED = range(4)
_KEYS = {
    **dict.fromkeys(("user-agent", "useragent", "user agent", "user-agents"), _AGENT),
    **dict.fromkeys(("allow", "allowed"), _ALLOW),
    # The robots.txt misspellings google/robotstxt accepts, and the past tense seen in ai.txt.
    **dict.fromkeys(
        (
            "disallow",
            "disallowed",
            "dissallow",
            "dissalow",
            "disalow",
            "diasllow",
            "disallaw",
        ),
        _DISALLOW,
    ),
    **dict.fromkeys(
        (
            "sitemap",
            "site-map",
            "crawl-delay",
            "crawldelay",
            "crawl delay",
            "request-rate",
            "host",
        ),
        _IGNORED,
    ),
}


def _media_key(key: str) -> tuple[bool, str] | None:
    """(allow, media) for ``DisallowImage``-style keys, else None."""
    squashed = key.replace("-", "").replace("_", "").replace(" ", "")
    for prefix, allow in (("disallow", False), ("allow", True)):
        if squashed.startswith(prefix):
            media = _MEDIA_ALIASES.get(squashed[len(prefix) :])
            return (allow, media) if media is not None else None
    return None


def _ai_pattern(value: str) -> str:
    """A pattern as ai.txt means it: one without a leading '/' or '*' names a kind of file."""
    if value and value[0] not in "/*":
        return "*" + value
    return value


def _media_patterns(value: str, media: str) -> list[str]:
    """The patterns ``<Key><Media>: value`` stands for: the media's extensions under value."""
    base = value[:-1] if value.endswith("$") else value
    base = _ai_pattern(base.rstrip("*"))
    return [f"{base}*.{ext}" for ext in MEDIA_EXTENSIONS[media]]


def _looks_malformed(body: bytes, text: str) -> str | None:
    """Why a 2xx body is not an ai.txt (HTML, binary), or None."""
    if b"\x00" in body[:_SNIFF_BYTES] and not body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "binary content"
    head = text[:_SNIFF_BYTES].lstrip().lower()
    if head.startswith("<") or any(
        mark in head for mark in ("<html", "<!doctype", "<head", "<body")
    ):
        return "an HTML page (a soft 404?)"
    return None


def _deny_all(line: int) -> Rule:
    """``Disallow: /`` ranked above every real rule (their ranks start at 1 << 33), for the part
    of a file cut at MAX_RULES: no allow can win over it."""
    return Rule(False, "/", "", (), False, line & 0xFFFFFFFF, 0, "", "")


class AiTxt:
    """A fetched ``/ai.txt``: its fetch result and, for a 2xx text body, its groups."""

    __slots__ = (
        "_folded",
        "cut",
        "lines",
        "outcome",
        "reason",
        "robots",
        "state",
        "status",
        "unknown_count",
        "unknown_keys",
    )

    def __init__(
        self,
        outcome: FetchOutcome,
        status: int | None,
        state: State,
        robots: RobotsTxt | None = None,
        folded: RobotsTxt | None = None,
        *,
        reason: str | None = None,
        unknown_keys: tuple[tuple[int, str], ...] = (),
        unknown_count: int = 0,
        cut: int | None = None,
        lines: int = 0,
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.state: State = state
        self.robots = robots  # None unless state == "ok"
        # The same rules case-folded, or None when folding changes no pattern (then the
        # folded reading is `robots` with the path folded).
        self._folded = folded
        self.reason = reason  # why the file is malformed or unreachable (free text)
        self.unknown_keys = unknown_keys  # (line, key) of the first distinct unknown keys
        self.unknown_count = unknown_count  # unknown lines in all
        self.cut = cut  # the line at which MAX_RULES was reached, if it was
        self.lines = lines

    def match(self, path_query: str, token: str) -> tuple[Match, bool]:
        """The deciding rule for ``token`` (our token's groups, else ``*``) and whether it
        came from the case-folded reading. Only meaningful when ``state == "ok"``."""
        if self.robots is None:
            return Match(True, None), False
        path = normalise_path(path_query or "/")
        found = self.robots.rules_for(token).match(path)
        if not found.allowed:
            return found, False
        folded_path = normalise_path((path_query or "/").lower())
        folded = self._folded if self._folded is not None else self.robots
        if folded_path == path and folded is self.robots:
            return found, False
        other = folded.rules_for(token).match(folded_path)
        if not other.allowed:
            return other, True
        return found, False

    def estimated_bytes(self) -> int:
        """A rough size of what this object holds (the document cache's unit of account)."""
        size = sys.getsizeof(self) + 64 * len(self.unknown_keys)
        for robots in (self.robots, self._folded):
            if robots is not None:
                size += robots.estimated_bytes()
        return size


def _build(groups: list[tuple[list[str], list[tuple[bool, str, int]]]]) -> RobotsTxt:
    robots = RobotsTxt()
    for agents, rules in groups:
        group = Group(agents=list(agents), first_line=rules[0][2] if rules else 0)
        for allow, pattern, line in rules:
            if pattern == "\x00cut":
                group.rules.append(_deny_all(line))
                continue
            rule = make_rule(allow, pattern, line)
            if rule is not None:
                group.rules.append(rule)
        robots.groups.append(group)
    return robots


def parse_ai_txt(outcome: FetchOutcome, body: bytes, status: int | None) -> AiTxt:
    """What one fetch of ``/ai.txt`` says (the module docstring has the fail-closed rule).

    Pure and total: never raises, whatever the bytes.
    """
    if outcome is FetchOutcome.CLIENT_ERROR and status != 429:
        return AiTxt(outcome, status, "absent")
    if outcome is not FetchOutcome.OK or status == 429:
        why = f"HTTP {status}" if status is not None else outcome.value.replace("_", " ")
        return AiTxt(outcome, status, "unreachable", reason=why)
    try:
        return _parse_body(outcome, body or b"", status)
    except Exception as error:  # a parser bug must read as unreachable, never as an allow
        return AiTxt(outcome, status, "unreachable", reason=f"unreadable: {type(error).__name__}")


def _parse_body(outcome: FetchOutcome, body: bytes, status: int | None) -> AiTxt:
    text = decode_robots(body)
    why = _looks_malformed(body, text)
    if why is not None:
        return AiTxt(outcome, status, "malformed", reason=why)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Groups as (agents, [(allow, pattern, line)]); patterns are kept as written (ai.txt form
    # applied) and compiled once at the end, twice when case-folding changes some.
    groups: list[tuple[list[str], list[tuple[bool, str, int]]]] = []
    agents: list[str] | None = None  # the agents of the group being read
    rules: list[tuple[bool, str, int]] = []
    in_agents = False
    records = 0
    kept = 0
    cut: int | None = None
    unknown: dict[str, int] = {}
    unknown_count = 0
    number = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:MAX_LINE_CHARS]
        if "#" in line:
            line = line[: line.index("#")]
        line = line.strip(" \t\ufeff")
        if not line:
            continue
        pair = split_key_value(line)
        if pair is None:
            unknown_count += 1
            continue
        key, value = pair
        code = _KEYS.get(key)
        media = _media_key(key) if code is None else None
        if code is None and media is None:
            unknown_count += 1
            name = key[:40]
            if len(unknown) < MAX_NOTED_KEYS and name not in unknown:
                unknown[name] = number
            continue
        records += 1
        if code == _IGNORED:
            continue
        if code == _AGENT:
            if agents is None or not in_agents:
                agents = []
                rules = []
                groups.append((agents, rules))
                in_agents = True
            token = product_token(value)
            if token:
                agents.append(token)
            continue
        # A rule (Allow/Disallow, plain or per media type).
        in_agents = False
        if agents is None:  # rules before any User-Agent line: a "*" group (our reading)
            agents = ["*"]
            rules = []
            groups.append((agents, rules))
        if not value or cut is not None:
            continue
        if media is not None:
            allow, kind = media
            patterns = _media_patterns(value, kind)
        else:
            allow = code == _ALLOW
            patterns = [_ai_pattern(value)]
        for pattern in patterns:
            if kept >= MAX_RULES:
                cut = number
                break
            rules.append((allow, pattern, number))
            kept += 1
    if records == 0 and unknown_count > 0:
        return AiTxt(outcome, status, "malformed", reason="no ai.txt record")
    if cut is not None:
        # Fail closed: every group, and a "*" group, disallow everything past the cut.
        for _agents, group_rules in groups:
            group_rules.append((False, "\x00cut", cut))
        groups.append((["*"], [(False, "\x00cut", cut)]))
    robots = _build(groups)
    folded: RobotsTxt | None = None
    if any(p != p.lower() for _a, group_rules in groups for _allow, p, _n in group_rules):
        folded = _build([(a, [(al, p.lower(), n) for al, p, n in r]) for a, r in groups])
    robots.lines = number
    robots.unknown_keys = unknown_count
    return AiTxt(
        outcome,
        status,
        "ok",
        robots,
        folded,
        unknown_keys=tuple((line, key) for key, line in unknown.items()),
        unknown_count=unknown_count,
        cut=cut,
        lines=number,
    )


def ai_txt_of(site: Site) -> AiTxt | None:
    document = site.document(KIND)
    if document is None or not isinstance(document.parsed, AiTxt):
        return None
    return document.parsed


class AiTxtCheck(NoLinks):
    """Reads the origin's ``/ai.txt`` for the URL: ``ai_txt.disallowed`` reserves training."""

    name = "ai_txt"
    documents = (KIND,)

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        parsed = ai_txt_of(site)
        if parsed is None or parsed.state == "absent":
            return ()
        if parsed.state == "unreachable":
            return (refusal(AiTxtReason.AI_TXT_UNREACHABLE, f"/ai.txt: {parsed.reason}"),)
        if parsed.state == "malformed":
            return (note(AiTxtReason.AI_TXT_MALFORMED, f"/ai.txt is {parsed.reason}"),)
        found: list[Finding] = []
        match, folded = parsed.match(path_query, site.token)
        rule = match.rule
        if rule is not None:
            if rule.normalised == "" and rule.pattern == "/" and parsed.cut is not None:
                where = f"line {rule.line}: file cut at {MAX_RULES} rules, read as disallow: /"
            else:
                where = f"line {rule.line}: {rule.directive}: {rule.pattern}"
                if folded:
                    where += " (matched case-insensitively)"
            if match.allowed:
                found.append(
                    Finding(
                        AiTxtReason.AI_TXT_ALLOWED,
                        allows=frozenset({Purpose.TRAIN_AI}),
                        detail=where,
                    )
                )
            else:
                found.append(
                    Finding(
                        AiTxtReason.AI_TXT_DISALLOWED,
                        reserves=frozenset({Purpose.TRAIN_AI}),
                        detail=where,
                    )
                )
        if parsed.unknown_keys:
            names = ", ".join(f"{key!r} (line {line})" for line, key in parsed.unknown_keys)
            found.append(
                note(
                    AiTxtReason.AI_TXT_UNKNOWN_KEY,
                    f"{parsed.unknown_count} line(s) not read; keys: {names}",
                )
            )
        return tuple(found)


SIGNAL = SignalInfo(
    name="Spawning ai.txt",
    where="/ai.txt of the URL's origin, before the fetch",
    source="Spawning, ai.txt (2023): https://site.spawning.ai/spawning-ai-txt and "
    "https://spawning.substack.com/p/aitxt-a-new-way-for-websites-to-set ; robots.txt syntax "
    "(RFC 9309, https://www.rfc-editor.org/rfc/rfc9309) over file-extension patterns",
    reasons={
        AiTxtReason.AI_TXT_DISALLOWED: "a Disallow line of the group for our token (else *) "
        "matches the URL: AI training is reserved",
        AiTxtReason.AI_TXT_ALLOWED: "an Allow line of that group decides for the URL: training "
        "is explicitly permitted (a reservation elsewhere still wins)",
        AiTxtReason.AI_TXT_UNREACHABLE: "/ai.txt answered 5xx or 429, timed out or could not be "
        "reached: the fetch is refused (fail closed)",
        AiTxtReason.AI_TXT_MALFORMED: "/ai.txt answered 2xx with an HTML page, binary data or "
        "no ai.txt record: no valid statement, nothing reserved",
        AiTxtReason.AI_TXT_UNKNOWN_KEY: "/ai.txt has lines we do not read; their keys are listed",
    },
    purposes="Disallow reserves train-ai; Allow permits train-ai; ai-input and search are not "
    "addressed by ai.txt",
    reading="ai.txt is about datasets for AI training (the generator's own header: 'Prevent "
    "datasets from using the following file types'), so it reserves train-ai only, not ai-input "
    "or search. Patterns not starting with '/' or '*' are read with a leading '*'; '*.jpg' "
    "matches any path containing '.jpg'; matching is also done case-folded and the stricter "
    "result wins; rules before any User-Agent line apply to '*'; Allowed/Disallowed mean "
    "Allow/Disallow; Disallow<Media>/Allow<Media> (Image, Text, Audio, Video, Code) stand for the "
    "generator's extension list of that media under the path; a 4xx means no file, a 5xx, 429 or "
    "unreachable file refuses the fetch, a file cut at 50,000 rules reads as Disallow: / past the "
    "cut",
)
