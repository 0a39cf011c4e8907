"""W3C TDM Reservation Protocol (TDMRep): the site file, the HTTP headers, the HTML meta tags.

Specification: TDM Reservation Protocol, W3C Community Group final report,
https://www.w3.org/2022/tdmrep/ (sources: https://github.com/w3c/tdm-reservation-protocol).

A rightsholder states ``tdm-reservation`` (``1``: TDM rights reserved, ``0``: not reserved, any
other value: a protocol error read as *unset*) and optionally ``tdm-policy`` (a URL describing
how to obtain a TDM licence) in three carriers, which this module reads:

* ``/.well-known/tdmrep.json`` (a JSON array of rules ``{location, tdm-reservation,
  tdm-policy}``), read before the fetch by :class:`TdmRepSiteCheck`;
* the ``tdm-reservation`` / ``tdm-policy`` response header fields, and
* ``<meta name="tdm-reservation">`` / ``<meta name="tdm-policy">`` in HTML, both read after the
  fetch by :class:`TdmRepAssetCheck`.

**Fail-closed rule of the ``tdmrep`` document kind** (:func:`parse_tdmrep`):

* 2xx: the body is parsed. A body that is no JSON array (a soft-404 HTML page, binary, an empty
  body, a JSON object of another shape) holds *no valid statement*: recorded as a
  ``tdmrep.malformed`` note, nothing reserved. A single rule object written without the
  enclosing array is read as a one-rule array. A body that breaks off or turns invalid after
  some entries keeps the entries read before the fault (plus the note): a reservation stated
  early in a file is never dropped because of a fault further down.
* 4xx other than 429 (404 included): there is no file, hence no statement.
* 5xx, 429, a timeout, a network error, too many redirects, a refused address: we cannot know
  what the file says, so the origin reads as reserved: a refusal ``tdmrep.unreachable``. (The
  specification says a server that fails to serve the file does not implement the protocol;
  the stricter reading is ours, the product never fetches in doubt.)

Bounds: at most :data:`MAX_BODY_BYTES` of a body are decoded, at most :data:`MAX_ENTRIES`
array entries are read (entries after that are ignored and a ``tdmrep.truncated`` note says
so), a ``location`` longer than :data:`MAX_LOCATION_CHARS` is ignored. Matching a URL against
the rules is linear in the size of the rules (no regular expressions, no backtracking).

Purposes: TDM covers AI training and the analysis of content by an AI model at use time, so a
reservation reserves ``train-ai`` and ``ai-input``. Search indexing is not TDM (the protocol's
own notes on the meaning of TDM list crawling and indexing for search as something else), so
``search`` is never reserved by TDMRep.
"""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final
from urllib.parse import urljoin, urlsplit

from optout_service.checks.base import (
    Asset,
    Document,
    Finding,
    NoLinks,
    SignalInfo,
    Site,
    note,
    refusal,
)
from optout_service.outcomes import FetchOutcome
from optout_service.purposes import Purpose

KIND: Final = "tdmrep"
WELL_KNOWN_PATH: Final = "/.well-known/tdmrep.json"

# Bounds on what one file can make us read and hold.
MAX_BODY_BYTES: Final = 8 * 1024 * 1024  # the fetcher caps bodies lower; this is a second guard
MAX_ENTRIES: Final = 10_000  # array entries read (a rule or not); later ones are ignored
MAX_LOCATION_CHARS: Final = 4096
MAX_POLICY_CHARS: Final = 2048
MAX_PROBLEMS: Final = 20  # problems kept for the note; the rest are only counted

# What a TDM reservation reserves (and an explicit 0 allows): not search indexing.
TDM_PURPOSES: Final = frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT})


class TdmRepReason(StrEnum):
    # A carrier (tdmrep.json rule, header, meta) says tdm-reservation 1: train-ai, ai-input.
    RESERVED = "tdmrep.reserved"
    # A carrier says tdm-reservation 0: TDM (train-ai, ai-input) explicitly not reserved.
    NOT_RESERVED = "tdmrep.not_reserved"
    # tdmrep.json answered 5xx/429, timed out, or could not be fetched: refused, every purpose.
    UNREACHABLE = "tdmrep.unreachable"
    # tdmrep.json answered 2xx with a body that is not (entirely) a valid file: a note.
    MALFORMED = "tdmrep.malformed"
    # tdmrep.json has more entries than we read (MAX_ENTRIES): a note.
    TRUNCATED = "tdmrep.truncated"
    # A tdm-reservation value other than 0 or 1 applied to the URL: read as unset, a note.
    INVALID_VALUE = "tdmrep.invalid_value"
    # Two carriers of one response disagree (a 1 and a 0): the 1 wins, a note.
    CONFLICT = "tdmrep.conflict"


# ---------------------------------------------------------------------------------------------
# Location patterns and URL paths


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
# RFC 3986 unreserved characters: an escape of one of them means the same as the character.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# "$" and "*" are pattern characters: the specification writes them %24 / %2A to match them
# verbatim, so an escape of either compares equal to the character itself.
_DECODED = _UNRESERVED | {"$", "*"}


def _unescape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _DECODED else "%" + match.group(1).upper()


def _canonical(text: str) -> str:
    """One spelling per path: escapes of unreserved characters (and of ``$``/``*``) decoded,
    other escapes in upper case, spaces, controls and non-ASCII characters escaped as UTF-8."""
    text = _ESCAPE.sub(_unescape, text)
    if text.isascii() and not any(c <= " " or c == "\x7f" for c in text):
        return text
    out: list[str] = []
    for char in text:
        if char <= " " or char >= "\x7f":
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8", "surrogatepass"))
        else:
            out.append(char)
    return "".join(out)


def _glob(segments: tuple[str, ...], anchored: bool, target: str) -> bool:
    """Does ``target`` match the pattern whose literal parts are ``segments`` (split at ``*``),
    ending with ``$`` when ``anchored``? Without ``$`` a pattern matches any path it is a
    prefix of. Each inner part is placed as early as possible, which is optimal for ``*``."""
    first = segments[0]
    if not target.startswith(first):
        return False
    if len(segments) == 1:
        return not anchored or len(target) == len(first)
    pos = len(first)
    for segment in segments[1:-1]:
        if segment:
            found = target.find(segment, pos)
            if found < 0:
                return False
            pos = found + len(segment)
    last = segments[-1]
    if anchored:
        return len(target) - pos >= len(last) and target.endswith(last)
    return target.find(last, pos) >= 0


def compile_location(location: str) -> tuple[tuple[str, ...], bool]:
    """The literal parts and the end anchor of a ``location`` pattern (draft-koster-rep-00
    syntax: ``*`` is any run of characters, a final ``$`` ends the match)."""
    anchored = location.endswith("$")
    body = location[:-1] if anchored else location
    return tuple(_canonical(part) for part in body.split("*")), anchored


# ---------------------------------------------------------------------------------------------
# The file


@dataclass(frozen=True, slots=True)
class TdmRule:
    """One rule of a tdmrep.json file."""

    index: int  # 1-based position of its entry in the array
    location: str  # the pattern, as we read it (see _read_location)
    reservation: int | None  # 1, 0, or None: a value the specification calls a protocol error
    value: str  # the tdm-reservation value as written (JSON), for details
    policy: str | None  # the tdm-policy string as written (resolved by the check)
    segments: tuple[str, ...] = field(repr=False, default=("",))
    anchored: bool = field(repr=False, default=False)

    def matches(self, target: str) -> bool:
        """``target`` must already be in :func:`_canonical` form."""
        return _glob(self.segments, self.anchored, target)


@dataclass(frozen=True, slots=True)
class TdmMatch:
    """What the file says about one URL."""

    rule: TdmRule | None  # the deciding rule (None: no rule matches)
    reservation: int | None  # 1, 0, or None (unset)
    # Matching rules with an invalid value that came before the decision (skipped).
    invalid: tuple[TdmRule, ...] = ()


_RANK = {1: 2, None: 1, 0: 0}  # how restrictive a reading is


class TdmRepFile:
    """What one fetch of ``/.well-known/tdmrep.json`` means for every URL of its origin."""

    __slots__ = ("outcome", "problem_count", "problems", "rules", "status", "truncated")

    def __init__(
        self,
        outcome: FetchOutcome,
        status: int | None,
        rules: Sequence[TdmRule] = (),
        problems: Sequence[str] = (),
        problem_count: int = 0,
        truncated: bool = False,
    ) -> None:
        self.outcome = outcome
        self.status = status
        self.rules = tuple(rules)
        self.problems = tuple(problems)  # at most MAX_PROBLEMS, for the note
        self.problem_count = max(problem_count, len(self.problems))
        self.truncated = truncated

    @property
    def unreachable(self) -> bool:
        """The file could not be read: the origin is refused (fail closed)."""
        if self.status == 429 or (self.status is not None and self.status >= 500):
            return True
        return self.outcome not in (FetchOutcome.OK, FetchOutcome.CLIENT_ERROR)

    @property
    def absent(self) -> bool:
        """A 4xx answer: there is no file, hence no statement."""
        return not self.unreachable and self.outcome is FetchOutcome.CLIENT_ERROR

    def why_unreachable(self) -> str:
        if self.status == 429:
            return "tdmrep.json answered 429 (rate limited)"
        if self.status is not None and self.outcome is not FetchOutcome.OK:
            return f"tdmrep.json answered {self.status} ({self.outcome.value})"
        if self.status is not None and self.status >= 500:
            return f"tdmrep.json answered {self.status}"
        return f"tdmrep.json could not be fetched ({self.outcome.value})"

    def _first_match(self, target: str) -> TdmMatch:
        invalid: list[TdmRule] = []
        for rule in self.rules:
            if not rule.matches(target):
                continue
            if rule.reservation is None:
                # A protocol error: skipped, so a later reservation still applies...
                invalid.append(rule)
                continue
            if rule.reservation == 0 and invalid:
                # ...but a later 0 does not turn a broken statement into a permission.
                return TdmMatch(rule, None, tuple(invalid))
            return TdmMatch(rule, rule.reservation, tuple(invalid))
        return TdmMatch(None, None, tuple(invalid))

    def match(self, path_query: str) -> TdmMatch:
        """The rule for a URL's ``path_query``: the first matching rule wins.

        The specification matches "the URL"; its patterns describe paths. When the URL has a
        query, both the path with its query and the path alone are matched and the more
        restrictive reading is kept (1, then unset, then 0).
        """
        full = self._first_match(_canonical(path_query))
        path, sep, _ = path_query.partition("?")
        if not sep:
            return full
        bare = self._first_match(_canonical(path))
        return bare if _RANK[bare.reservation] > _RANK[full.reservation] else full

    def estimated_bytes(self) -> int:
        """A rough size of what this object holds (the policy cache's unit of account)."""
        size = sys.getsizeof(self) + sys.getsizeof(self.rules)
        for rule in self.rules:
            size += sys.getsizeof(rule) + sys.getsizeof(rule.location) + sys.getsizeof(rule.value)
            size += sys.getsizeof(rule.segments) + sum(map(sys.getsizeof, rule.segments))
            if rule.policy is not None:
                size += sys.getsizeof(rule.policy)
        return size + sum(map(sys.getsizeof, self.problems))


class _Object:
    """A JSON object with its members in order, repeated keys kept (``object_pairs_hook``)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, object]]) -> None:
        self.pairs = pairs

    def values(self, key: str) -> list[object]:
        # Member names are read case-insensitively: "TDM-Reservation" means what it says.
        return [value for name, value in self.pairs if name.strip().lower() == key]


def _decode(body: bytes) -> str:
    """JSON text of a body: UTF-8 (BOM skipped), UTF-16/32 when a BOM says so; never raises."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if body.startswith(bom):
            return body[len(bom) :].decode(codec, errors="replace")
    return body.decode("utf-8", errors="replace").lstrip("\ufeff")


_WS = re.compile(r"[ \t\n\r]+")


def _skip_ws(text: str, pos: int) -> int:
    """The position of the first character at or after ``pos`` that is not JSON whitespace."""
    found = _WS.match(text, pos)
    return found.end() if found else pos


class _Problems:
    def __init__(self) -> None:
        self.kept: list[str] = []
        self.count = 0

    def add(self, text: str) -> None:
        self.count += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(text)


def _json_repr(value: object) -> str:
    if isinstance(value, _Object):
        return "an object"
    if isinstance(value, list):
        return "an array"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):  # pragma: no cover - only JSON values reach here
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _reservation_of(value: object) -> tuple[int | None, bool]:
    """(reading, lenient) of one JSON ``tdm-reservation`` value.

    The integers 1 and 0 are the protocol's values. Where the publisher plainly meant 1 but
    wrote it in another JSON type (``"1"``, ``1.0``, ``true``) we read a reservation (the
    stricter reading); the same spellings of 0 are *not* read as a permission but as unset.
    """
    if isinstance(value, bool):
        return (1, True) if value else (None, False)
    if isinstance(value, int):
        return (value, False) if value in (0, 1) else (None, False)
    if isinstance(value, float):
        return (1, True) if value == 1.0 else (None, False)
    if isinstance(value, str) and value.strip() == "1":
        return 1, True
    return None, False


def _read_location(value: str, index: int, problems: _Problems) -> str | None:
    location = value.strip()
    if not location:
        problems.add(f"entry {index}: empty location, ignored")
        return None
    if len(location) > MAX_LOCATION_CHARS:
        problems.add(f"entry {index}: location longer than {MAX_LOCATION_CHARS}, ignored")
        return None
    lowered = location.lower()
    if lowered.startswith(("http://", "https://", "//")):
        # An absolute URL where a path pattern belongs: read its path (and query).
        parts = urlsplit(location)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        problems.add(f"entry {index}: location {location!r} is a URL, read as {path!r}")
        return path
    if not location.startswith(("/", "*")):
        problems.add(f"entry {index}: location {location!r} read as '/{location}'")
        return "/" + location
    return location


def _read_entry(value: object, index: int, problems: _Problems) -> list[TdmRule]:
    if not isinstance(value, _Object):
        problems.add(f"entry {index}: {_json_repr(value)}, not an object, ignored")
        return []
    locations: list[str] = []
    for raw in value.values("location"):
        if not isinstance(raw, str):
            problems.add(f"entry {index}: location is {_json_repr(raw)}, not a string")
            continue
        location = _read_location(raw, index, problems)
        if location is not None and location not in locations:
            locations.append(location)
    if not locations:
        if not value.values("location"):
            problems.add(f"entry {index}: no location, ignored")
        return []
    raw_values = value.values("tdm-reservation")
    readings: list[int | None] = []
    for raw in raw_values:
        reading, lenient = _reservation_of(raw)
        readings.append(reading)
        if lenient:
            problems.add(f"entry {index}: tdm-reservation {_json_repr(raw)} read as 1")
    if 1 in readings:
        reservation: int | None = 1  # repeated keys: any reservation counts
    elif readings and all(r == 0 for r in readings):
        reservation = 0
    else:
        reservation = None
        shown = _json_repr(raw_values[0]) if raw_values else "missing"
        problems.add(f"entry {index}: tdm-reservation {shown}: unset")
    if reservation == 0 and len(locations) > 1:
        # Which location does the permission cover? In doubt it covers none.
        problems.add(f"entry {index}: several locations for one tdm-reservation 0: unset")
        reservation = None
    value_text = ", ".join(_json_repr(raw) for raw in raw_values) if raw_values else "missing"
    policy: str | None = None
    for raw in value.values("tdm-policy"):
        if isinstance(raw, str) and raw.strip() and len(raw) <= MAX_POLICY_CHARS:
            policy = raw.strip()
            break
        problems.add(f"entry {index}: tdm-policy {_json_repr(raw)} ignored")
    rules = []
    for location in locations:
        segments, anchored = compile_location(location)
        rules.append(TdmRule(index, location, reservation, value_text, policy, segments, anchored))
    return rules


def parse_tdmrep(outcome: FetchOutcome, body: bytes | None, status: int | None) -> TdmRepFile:
    """Parse one fetch of ``/.well-known/tdmrep.json``; pure, bounded, never raises."""
    if outcome is not FetchOutcome.OK:
        return TdmRepFile(outcome, status)
    problems = _Problems()
    rules: list[TdmRule] = []
    truncated = False
    raw = body or b""
    if len(raw) > MAX_BODY_BYTES:
        problems.add(f"body longer than {MAX_BODY_BYTES} bytes: the rest is not read")
        raw = raw[:MAX_BODY_BYTES]
    text = _decode(raw)
    start = _skip_ws(text, 0)
    decoder = json.JSONDecoder(object_pairs_hook=_Object)
    if start == len(text):
        problems.add("empty body: no rules")
    elif text[start] == "{":
        try:
            value, _ = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            problems.add("not valid JSON: no rules")
        else:
            problems.add("a JSON object, not an array: read as a one-rule array")
            rules.extend(_read_entry(value, 1, problems))
    elif text[start] != "[":
        looks = "HTML" if text[start] == "<" else "JSON array"
        problems.add(f"not a JSON array (starts with {text[start : start + 12]!r}; {looks}?)")
    else:
        rules, truncated = _read_array(text, start + 1, decoder, problems)
    return TdmRepFile(outcome, status, rules, problems.kept, problems.count, truncated=truncated)


def _read_array(
    text: str, pos: int, decoder: json.JSONDecoder, problems: _Problems
) -> tuple[list[TdmRule], bool]:
    """The entries of the array that starts before ``pos``, one at a time, so that a fault
    keeps what came before it and no more than MAX_ENTRIES entries are ever read."""
    rules: list[TdmRule] = []
    entries = 0
    while True:
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            problems.add(f"the array is not closed (after {entries} entries)")
            return rules, False
        if text[pos] == "]":
            end = _skip_ws(text, pos + 1)
            if end < len(text):
                problems.add("content after the array, ignored")
            return rules, False
        if entries >= MAX_ENTRIES:
            return rules, True
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError):
            problems.add(f"invalid JSON at character {pos} (after {entries} entries)")
            return rules, False
        entries += 1
        rules.extend(_read_entry(value, entries, problems))
        pos = _skip_ws(text, pos)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] != "]":
            problems.add(f"invalid JSON at character {pos} (after {entries} entries)")
            return rules, False


# ---------------------------------------------------------------------------------------------
# The carriers, read into one shape


@dataclass(frozen=True, slots=True)
class CarrierStatement:
    """What one carrier says about one URL."""

    carrier: str  # "meta", "header" or "file"
    reservation: int | None  # 1, 0, or None (unset: absent or a protocol error)
    policy: str | None  # an absolute http(s) URL
    detail: str
    invalid: tuple[str, ...] = ()  # values read as unset (protocol errors)


def policy_url(value: str | None, base: str) -> str | None:
    """``value`` as an absolute http(s) URL (relative ones resolved against ``base``)."""
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > MAX_POLICY_CHARS:
        return None
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def _read_tokens(values: Iterable[str]) -> tuple[int | None, list[str], list[str]]:
    """(reading, tokens, invalid tokens) of text values of ``tdm-reservation``.

    Each value may hold a comma-separated list (repeated header lines are one list in HTTP);
    one 1 among them reserves; only 0s (and nothing else) make a 0; otherwise it is unset.
    """
    tokens: list[str] = []
    for value in values:
        for part in value.split(","):
            token = part.strip().strip('"').strip()
            if token:
                tokens.append(token)
    invalid = [t for t in tokens if t not in ("0", "1")]
    if "1" in tokens:
        return 1, tokens, invalid
    if tokens and not invalid:
        return 0, tokens, invalid
    return None, tokens, invalid


def _text_statement(
    carrier: str, label: str, reservations: list[str], policies: list[str], base: str
) -> CarrierStatement | None:
    if not reservations and not policies:
        return None
    reading, tokens, invalid = _read_tokens(reservations)
    policy = next((url for url in (policy_url(v, base) for v in policies) if url), None)
    shown = ", ".join(tokens) if tokens else "absent"
    return CarrierStatement(carrier, reading, policy, f"{label}: {shown}", tuple(invalid))


def read_header(asset: Asset) -> CarrierStatement | None:
    """The ``tdm-reservation`` / ``tdm-policy`` header fields of a response (None: absent)."""
    return _text_statement(
        "header",
        "tdm-reservation header",
        asset.header("tdm-reservation"),
        asset.header("tdm-policy"),
        asset.final_url or asset.url,
    )


def read_meta(asset: Asset) -> CarrierStatement | None:
    """The ``tdm-reservation`` / ``tdm-policy`` meta tags of an HTML response (None: absent)."""
    if not asset.html:
        return None
    metas = asset.html_facts.metas
    return _text_statement(
        "meta",
        '<meta name="tdm-reservation">',
        [content for name, content in metas if name == "tdm-reservation"],
        [content for name, content in metas if name == "tdm-policy"],
        asset.final_url or asset.url,
    )


def tdmrep_file(document: Document | None) -> TdmRepFile | None:
    """The parsed tdmrep.json of a document (a document of another shape is read from its
    outcome alone, never trusted as a statement)."""
    if document is None:
        return None
    if isinstance(document.parsed, TdmRepFile):
        return document.parsed
    return parse_tdmrep(document.outcome, b"", document.status)


def read_file(site: Site, path_query: str) -> CarrierStatement | None:
    """What the origin's tdmrep.json says about ``path_query`` (None: no rule, no file)."""
    document = site.document(KIND)
    parsed = tdmrep_file(document)
    if document is None or parsed is None or parsed.outcome is not FetchOutcome.OK:
        return None
    if parsed.unreachable:
        return None
    found = parsed.match(path_query)
    invalid = tuple(f"entry {r.index} ({r.location}): {r.value}" for r in found.invalid)
    rule = found.rule
    if rule is None:
        if not invalid:
            return None
        return CarrierStatement("file", None, None, "tdmrep.json: " + "; ".join(invalid), invalid)
    detail = (
        f"tdmrep.json entry {rule.index}: location {rule.location}, tdm-reservation {rule.value}"
    )
    if found.reservation is None and rule.reservation == 0:
        detail += " (after an invalid matching entry: unset)"
        invalid = (*invalid, f"entry {rule.index} ({rule.location}): 0 after an invalid entry")
    # The specification asks agents not to process tdm-policy next to a 0.
    policy = policy_url(rule.policy, document.url) if found.reservation != 0 else None
    return CarrierStatement("file", found.reservation, policy, detail, invalid)


@dataclass(frozen=True, slots=True)
class TdmReading:
    """The TDMRep answer for one URL, as the self-check reports it (``"tdm"``)."""

    reservation: int | None  # 1 if any carrier says 1, else 0 if any says 0, else None
    policy: str | None  # from the highest-priority carrier that names one (never next to a 0)
    statements: tuple[CarrierStatement, ...] = ()  # in priority order: meta, header, file


def tdm_reading(site: Site | None, asset: Asset | None, path_query: str) -> TdmReading:
    """Combine the carriers: the most restrictive ``tdm-reservation`` wins (a 0 never lifts a
    1 stated elsewhere; absence never resets); ``tdm-policy`` comes from the first carrier in
    the specification's priority (meta, then header, then file) that names one and does not
    itself say 0. A tdmrep.json that could not be read is a refusal (``tdmrep.unreachable``
    from the site check), not a ``tdm-reservation`` value: it leaves the reading unset."""
    carriers: list[CarrierStatement | None] = []
    if asset is not None:
        carriers += [read_meta(asset), read_header(asset)]
    if site is not None:
        carriers.append(read_file(site, path_query))
    statements = tuple(c for c in carriers if c is not None)
    values = {s.reservation for s in statements}
    reservation = 1 if 1 in values else 0 if 0 in values else None
    policy = None
    if reservation != 0:
        policy = next((s.policy for s in statements if s.policy and s.reservation != 0), None)
    return TdmReading(reservation, policy, statements)


# ---------------------------------------------------------------------------------------------
# The checks


def _findings(statement: CarrierStatement, license_fallback: str | None = None) -> list[Finding]:
    found: list[Finding] = []
    if statement.reservation == 1:
        found.append(
            Finding(
                TdmRepReason.RESERVED,
                reserves=TDM_PURPOSES,
                license=statement.policy or license_fallback,
                detail=statement.detail,
            )
        )
    elif statement.reservation == 0:
        found.append(
            Finding(TdmRepReason.NOT_RESERVED, allows=TDM_PURPOSES, detail=statement.detail)
        )
    if statement.invalid:
        found.append(
            note(
                TdmRepReason.INVALID_VALUE,
                f"{statement.detail}; read as unset: " + "; ".join(statement.invalid),
            )
        )
    return found


class TdmRepSiteCheck(NoLinks):
    """``/.well-known/tdmrep.json``, before the fetch: the first matching rule of the file."""

    name = "tdmrep"
    documents: tuple[str, ...] = (KIND,)

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        parsed = tdmrep_file(site.document(KIND))
        if parsed is None or parsed.absent:  # no file: no statement
            return ()
        if parsed.unreachable:
            return (refusal(TdmRepReason.UNREACHABLE, parsed.why_unreachable()),)
        found: list[Finding] = []
        if parsed.problem_count:
            more = parsed.problem_count - len(parsed.problems)
            summary = "; ".join(parsed.problems) + (f"; {more} more" if more > 0 else "")
            found.append(note(TdmRepReason.MALFORMED, summary))
        if parsed.truncated:
            found.append(
                note(TdmRepReason.TRUNCATED, f"only the first {MAX_ENTRIES} entries were read")
            )
        statement = read_file(site, path_query)
        if statement is not None:
            found.extend(_findings(statement))
        return tuple(dict.fromkeys(found))


class TdmRepAssetCheck(NoLinks):
    """The ``tdm-reservation`` / ``tdm-policy`` header fields and meta tags of a response."""

    name = "tdmrep_asset"

    def check(self, asset: Asset) -> Iterable[Finding]:
        statements = [s for s in (read_header(asset), read_meta(asset)) if s is not None]
        found: list[Finding] = []
        for statement in statements:
            # A carrier without a policy of its own borrows one from the other carrier of the
            # response (unless that one says 0): the policy a data team needs is the same.
            fallback = next(
                (s.policy for s in statements if s is not statement and s.reservation != 0),
                None,
            )
            found.extend(_findings(statement, fallback))
        values = {s.reservation for s in statements}
        if {0, 1} <= values:
            said = ", ".join(f"{s.carrier} {s.reservation}" for s in statements)
            found.append(note(TdmRepReason.CONFLICT, f"{said}: the reservation wins"))
        return tuple(dict.fromkeys(found))


_PURPOSES_TEXT = (
    "tdm-reservation 1 reserves train-ai and ai-input; 0 explicitly allows them; search is "
    "never affected (indexing for search is not text and data mining)"
)

SIGNALS: Final = (
    SignalInfo(
        name="W3C TDMRep (tdmrep.json)",
        where=f"{WELL_KNOWN_PATH} of the URL's origin, before the fetch",
        source="TDM Reservation Protocol (TDMRep), W3C Community Group final report, "
        "section 'TDM File on the Origin Server', https://www.w3.org/2022/tdmrep/",
        reasons={
            TdmRepReason.RESERVED: "the first rule whose location matches the URL says "
            "tdm-reservation 1 (its tdm-policy is returned as a licence URL)",
            TdmRepReason.NOT_RESERVED: "the first matching rule says tdm-reservation 0",
            TdmRepReason.UNREACHABLE: "tdmrep.json answered 5xx or 429, timed out or could "
            "not be fetched: the fetch is refused for every purpose",
            TdmRepReason.MALFORMED: "tdmrep.json answered 2xx but is not (entirely) a valid "
            "file: what could not be read states nothing (a note)",
            TdmRepReason.TRUNCATED: f"tdmrep.json has more than {MAX_ENTRIES} entries: "
            "later ones are not read (a note)",
            TdmRepReason.INVALID_VALUE: "a matching rule has a tdm-reservation other than 0 "
            "or 1: unset (a note)",
        },
        purposes=_PURPOSES_TEXT,
        reading=(
            "4xx: no file, no statement; 5xx, 429, timeout, network error: refused (the "
            "specification reads a missing file as 'protocol not implemented'; we never fetch "
            "in doubt). Rules are matched in file order and the first match wins; locations "
            "use the robots.txt syntax ('*' any run of characters, a final '$' ends the "
            "match), case-sensitive, escapes of unreserved characters and of '$'/'*' decoded "
            "on both sides. A URL with a query is matched with and without its query and the "
            "more restrictive answer is kept. A rule with an invalid tdm-reservation is "
            "skipped (a later matching 1 still reserves, a later matching 0 reads as unset). "
            '"1", 1.0 and true are read as 1; the same spellings of 0 are not read as a '
            "permission. A lone rule object without the array is read as one rule. Repeated "
            "keys: any 1 reserves; a 0 with several locations is unset. A location that is "
            "an absolute URL is read as its path; one without a leading '/' gets one. A body "
            "that breaks off keeps the entries before the fault. tdm-policy next to a 0 is "
            "not used. Carriers: the specification lets meta override the header and the "
            "header override the file; we apply the most restrictive statement of all "
            "carriers instead, so a 0 anywhere never lifts a 1 elsewhere (a deliberate, "
            "stricter reading). AI input counts as TDM (a model analyses the content); "
            "search indexing does not."
        ),
    ),
    SignalInfo(
        name="W3C TDMRep (tdm-reservation header, HTML meta)",
        where="the tdm-reservation / tdm-policy response header fields and "
        '<meta name="tdm-reservation"> / <meta name="tdm-policy">, after the fetch',
        source="TDM Reservation Protocol (TDMRep), W3C Community Group final report, "
        "sections 'TDM Header Field in HTTP Responses' and 'TDM Metadata in HTML Content', "
        "https://www.w3.org/2022/tdmrep/",
        reasons={
            TdmRepReason.RESERVED: "the header or a meta tag says tdm-reservation 1 (the "
            "detail names the carrier; tdm-policy is returned as a licence URL)",
            TdmRepReason.NOT_RESERVED: "the header or a meta tag says tdm-reservation 0",
            TdmRepReason.INVALID_VALUE: "a tdm-reservation value other than 0 or 1: unset (a note)",
            TdmRepReason.CONFLICT: "the header and the meta tags disagree: the 1 wins (a note)",
        },
        purposes=_PURPOSES_TEXT,
        reading=(
            "Values are trimmed, and a surrounding pair of quotes is dropped; repeated header "
            "lines and comma-separated values ('1, 1') are one list: any 1 reserves, only 0s "
            "make a 0, anything else is unset. Several meta tags are read the same way; "
            'http-equiv="tdm-reservation" counts as a meta tag. A relative tdm-policy is '
            "resolved against the response URL; only http(s) URLs are kept. The "
            "specification lets meta override the header and the header override "
            "tdmrep.json; we keep the most restrictive statement of all carriers instead (a "
            "0 never lifts a 1: a deliberate, stricter reading)."
        ),
    ),
)
