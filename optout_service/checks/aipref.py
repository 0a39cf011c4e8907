"""IETF AIPREF: ``Content-Usage`` rules in robots.txt and the ``Content-Usage`` response header.

Specifications: draft-ietf-aipref-vocab-08 (the vocabulary and its Structured-Fields
serialisation) and draft-ietf-aipref-attach-05 (the robots.txt rule and the HTTP header).

**The expression.** A preference expression is a Structured-Fields Dictionary (RFC 9651 3.2)
whose keys are category labels and whose values are the Tokens ``y`` (allow) and ``n``
(disallow) (vocab 6.1, 6.2, 6.5). vocab-08 defines three categories: ``train-ai``, ``ai-use``
and ``search``; we map them onto :class:`~optout_service.purposes.Purpose` as ``train-ai`` ->
``train-ai``, ``ai-use`` -> ``ai-input``, ``search`` -> ``search``. ``search=y`` permits search
only: the draft's Search category includes training done for, and used only by, a search
application, which is not what a ``train-ai`` crawl does.

Earlier drafts defined labels that sites still publish (``bots`` and ``all`` for Automated
Processing, ``tdm``, ``ai``, ``genai``, ``train-genai``, ``ai-output``). vocab-08 says unknown
labels are ignored; we read them conservatively instead: such a label set to ``n`` reserves every
purpose its category contained in the draft that defined it, and set to ``y`` it permits
nothing (a note records it). Where the old drafts and vocab-08 agree that an explicit current
label decides its own category (``bots=n, search=y``: search is allowed in both readings), the
broad ``n`` does not reserve that purpose.

**Stricter than the letter.** The drafts say a value that is not exactly ``y``/``n`` and a
Dictionary that does not parse (upper-case keys, a stray character) state nothing. We record
both (``aipref.bad_value``, ``aipref.malformed``) and still honour any clear *no* in them
(``N``, ``no``, ``"n"``, ``?0``, or ``n`` read by a lenient key=value scan of a broken
expression): a reservation never depends on perfect syntax, a permission always does. A key
given twice keeps its last value under RFC 9651; an earlier ``n`` for it still reserves.

**robots.txt** (attach-05 section 3). A ``Content-Usage`` rule belongs to a group; its value is
an optional path (it starts with ``/`` and ends at the first SP or HTAB) then the expression. The
rules of the groups that apply to our token are matched against the URL like Allow/Disallow
(:func:`optout_service.policy.robotstxt.make_rule`): the longest matching path wins, rules with
paths of that same length combine most restrictively (attach-05 3.1, vocab 5.1). A rule
without a path is read as the path ``/`` (so it combines with an explicit ``/`` rule instead of
losing to it). Preferences apply only to crawlable paths; whether the URL may be fetched is the
robots check's business, not this one's.

attach-05 defines the rule inside groups only (RFC 9309 ignores rules before the first
group). A ``Content-Usage`` line at file level is still a statement by the server's operator,
addressed to no crawler in particular: we read its reservations as applying to every crawler,
combined with the group's, and never its permissions (note ``aipref.outside_group``).

**The header** (attach-05 section 2): each ``Content-Usage`` header line is read on its own and
the lines combine most restrictively, instead of being joined into one Dictionary where a
later duplicate key would silently replace an earlier ``n``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import http_sf

from optout_service.checks.base import Asset, Finding, NoLinks, SignalInfo, Site, note
from optout_service.policy.robots import RobotsRules
from optout_service.policy.robotstxt import Extension, Rule, make_rule, normalise_path
from optout_service.purposes import ALL_PURPOSES, Purpose


class Reason(StrEnum):
    # The three categories of draft-ietf-aipref-vocab-08 (section 6.1):
    TRAIN_AI_NO = "aipref.train_ai_no"  # train-ai=n: AI training is reserved
    AI_USE_NO = "aipref.ai_use_no"  # ai-use=n: use as AI input (RAG, grounding) is reserved
    SEARCH_NO = "aipref.search_no"  # search=n: search indexing is reserved
    TRAIN_AI_YES = "aipref.train_ai_yes"  # train-ai=y: AI training is permitted
    AI_USE_YES = "aipref.ai_use_yes"  # ai-use=y: use as AI input is permitted
    SEARCH_YES = "aipref.search_yes"  # search=y: search indexing (only) is permitted
    # Labels of earlier drafts, read as reservations only:
    TRAIN_GENAI_NO = "aipref.train_genai_no"  # train-genai=n (vocab-02..06): reserves train-ai
    GENAI_NO = "aipref.genai_no"  # genai=n (vocab-00/01): reserves train-ai
    AI_NO = "aipref.ai_no"  # ai=n (vocab-00/01, AI training): reserves train-ai
    TDM_NO = "aipref.tdm_no"  # tdm=n (vocab-00/01, all automated processing): reserves all
    BOTS_NO = "aipref.bots_no"  # bots=n (Automated Processing): reserves every purpose
    ALL_NO = "aipref.all_no"  # all=n (Automated Processing, vocab-02): reserves every purpose
    AI_OUTPUT_NO = "aipref.ai_output_no"  # ai-output=n (AI Output): reserves ai-input, search
    # Content Signals spellings in a Content-Usage value (a common mix-up), reservations only:
    AI_TRAIN_NO = "aipref.ai_train_no"  # ai-train=n|no: reserves train-ai
    AI_INPUT_NO = "aipref.ai_input_no"  # ai-input=n|no: reserves ai-input
    # Notes (decide nothing):
    # A label vocab-08 does not define (earlier drafts, Content Signals names) set to y: noted,
    # never a permission.
    LEGACY_YES = "aipref.legacy_yes"
    UNKNOWN_LABEL = "aipref.unknown_label"  # a label no draft defines (detail: the label)
    BAD_VALUE = "aipref.bad_value"  # a value other than the tokens y / n (detail: label=value)
    MALFORMED = "aipref.malformed"  # not a Structured-Fields Dictionary (read leniently)
    DUPLICATE_LABEL = "aipref.duplicate_label"  # a label given twice in one expression
    EMPTY = "aipref.empty"  # a rule with a path and no expression
    OUTSIDE_GROUP = "aipref.outside_group"  # file-level rule: reservations read, permissions not
    # More rules than we read for one URL: the rest are read as reserving every purpose.
    TOO_MANY_RULES = "aipref.too_many_rules"


@dataclass(frozen=True, slots=True)
class Label:
    """One category label and how it maps onto our purposes."""

    covers: frozenset[Purpose]  # what ``n`` reserves (and, for a current label, ``y`` permits)
    no: Reason
    yes: Reason | None = None  # None: a ``y`` is never read as a permission
    # Current labels that, stated explicitly in the same expression, decide their own purpose
    # instead of this broader one (the old drafts' "more specific wins", vocab-08's "ignore").
    yields_to: frozenset[str] = frozenset()


_CURRENT_PURPOSE = {
    "train-ai": Purpose.TRAIN_AI,
    "ai-use": Purpose.AI_INPUT,
    "search": Purpose.SEARCH,
}
_EVERY_CATEGORY = frozenset(_CURRENT_PURPOSE)
LABELS: Mapping[str, Label] = {
    # draft-ietf-aipref-vocab-08, section 6.1.
    "train-ai": Label(frozenset({Purpose.TRAIN_AI}), Reason.TRAIN_AI_NO, Reason.TRAIN_AI_YES),
    "ai-use": Label(frozenset({Purpose.AI_INPUT}), Reason.AI_USE_NO, Reason.AI_USE_YES),
    "search": Label(frozenset({Purpose.SEARCH}), Reason.SEARCH_NO, Reason.SEARCH_YES),
    # Automated Processing ("bots" in vocab-03..06, "all" in vocab-02, "tdm" before): it
    # contained every other category.
    "bots": Label(ALL_PURPOSES, Reason.BOTS_NO, yields_to=_EVERY_CATEGORY),
    "all": Label(ALL_PURPOSES, Reason.ALL_NO, yields_to=_EVERY_CATEGORY),
    "tdm": Label(ALL_PURPOSES, Reason.TDM_NO, yields_to=_EVERY_CATEGORY),
    # AI training of the first drafts (all machine learning) and generative AI training: our
    # train-ai purpose is within both.
    "ai": Label(frozenset({Purpose.TRAIN_AI}), Reason.AI_NO),
    "genai": Label(frozenset({Purpose.TRAIN_AI}), Reason.GENAI_NO),
    "train-genai": Label(frozenset({Purpose.TRAIN_AI}), Reason.TRAIN_GENAI_NO),
    # AI Output (a branch of vocab-03): AI-generated outputs, search results included.
    "ai-output": Label(
        frozenset({Purpose.AI_INPUT, Purpose.SEARCH}),
        Reason.AI_OUTPUT_NO,
        yields_to=frozenset({"search"}),
    ),
    # Cloudflare Content Signals names written in a Content-Usage value.
    "ai-train": Label(frozenset({Purpose.TRAIN_AI}), Reason.AI_TRAIN_NO),
    "ai-input": Label(frozenset({Purpose.AI_INPUT}), Reason.AI_INPUT_NO),
}

MAX_EXPRESSION_CHARS = 2083 * 8  # a robots.txt line's limit; a header line is cut there too
MAX_RULES = 4_096  # Content-Usage lines read for one URL (real files have a handful)
_CACHED_CHARS = 512  # expressions up to this long are memoised (bounded memory)
_DETAIL_CHARS = 200
_NO_WORDS = frozenset({"n", "no"})
# A lenient key=value scan for expressions that are not valid Structured Fields.
# A key starts only where no key character precedes it, and the possessive quantifiers never
# give back what they took: one pass over the text, whatever it holds.
_PAIR = re.compile(
    r"""(?<![A-Za-z0-9_.*-])([A-Za-z*][A-Za-z0-9_.*-]*+)\s*+[=:]\s*+("[^"]*+"|[^\s,;]*+)"""
)


@dataclass(frozen=True, slots=True)
class Preference:
    label: str  # lower-cased
    allow: bool
    exact: bool  # a Token y/n of a valid Dictionary (only these can permit)
    value: str  # as written, for the detail


@dataclass(frozen=True, slots=True)
class Expression:
    """What one preference expression states: its preferences and its notes, in order."""

    preferences: tuple[Preference, ...]
    notes: tuple[tuple[Reason, str], ...]
    labels: tuple[str, ...] = ()  # every label met (lower-cased), known or not, in order


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."


def _says_no(value: object) -> bool:
    """A value that clearly disallows, whatever its syntax: n/no as a token or a string, ?0."""
    if value is False:
        return True
    if isinstance(value, http_sf.Token | str):
        return str(value).strip().strip("\"'").lower() in _NO_WORDS
    return False


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, http_sf.Token):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    return _short(repr(value))


def _lenient_pairs(text: str) -> list[tuple[str, str]]:
    return [(key.lower(), value) for key, value in _PAIR.findall(text)]


def _read(text: str) -> Expression:
    text = text[:MAX_EXPRESSION_CHARS]
    preferences: list[Preference] = []
    notes: list[tuple[Reason, str]] = []
    duplicates: dict[str, None] = {}  # keys given more than once, in order
    parsed: object = None
    try:
        parsed = http_sf.parse(
            text.encode("utf-8", errors="replace"),
            tltype="dictionary",
            on_duplicate_key=lambda key, _context: duplicates.setdefault(key),
        )
    except Exception:  # any parse failure (the library's or ours) is a malformed value
        parsed = None
    labels: list[str] = []
    if isinstance(parsed, dict):
        labels.extend(parsed)
        for key, member in parsed.items():
            value = member[0] if isinstance(member, tuple) else member
            if isinstance(value, http_sf.Token) and str(value) in ("y", "n"):
                preferences.append(Preference(key, str(value) == "y", True, str(value)))
                continue
            if key in LABELS:  # a value of an unknown label means nothing either way
                notes.append((Reason.BAD_VALUE, f"{key}={_show(value)}"))
            if _says_no(value):
                preferences.append(Preference(key, False, False, _show(value)))
        if duplicates:
            for key, value in _lenient_pairs(text):
                if key in duplicates and _says_no(value):
                    preferences.append(Preference(key, False, False, value))
            notes.extend((Reason.DUPLICATE_LABEL, key) for key in duplicates)
    else:
        notes.append((Reason.MALFORMED, _short(text)))
        for key, value in _lenient_pairs(text):
            labels.append(key)
            if _says_no(value):
                preferences.append(Preference(key, False, False, value))
    return Expression(
        tuple(dict.fromkeys(preferences)),
        tuple(dict.fromkeys(notes)),
        tuple(dict.fromkeys(labels)),
    )


_read_cached = lru_cache(maxsize=2048)(_read)


def read_expression(text: str) -> Expression:
    """Read one preference expression (never raises; bounded by MAX_EXPRESSION_CHARS)."""
    return _read_cached(text) if len(text) <= _CACHED_CHARS else _read(text)


def expression_findings(
    expression: Expression, where: str, *, permissions: bool = True
) -> list[Finding]:
    """The findings of one expression; ``where`` prefixes each detail (e.g. "line 4").

    ``permissions=False`` drops what would permit (file-level robots.txt rules)."""
    found: list[Finding] = []
    explicit = {p.label for p in expression.preferences if p.exact and p.label in LABELS}
    for preference in expression.preferences:
        label = LABELS.get(preference.label)
        detail = f"{where}: {preference.label}={preference.value}"
        if label is None:
            continue  # noted below, with every other unknown label
        if preference.allow:
            if label.yes is None:
                found.append(note(Reason.LEGACY_YES, detail))
            elif permissions:
                found.append(Finding(label.yes, allows=label.covers, detail=detail))
        else:
            lifted = {_CURRENT_PURPOSE[name] for name in label.yields_to & explicit}
            if not preference.exact:
                detail += " (read as a reservation although not exact syntax)"
            found.append(Finding(label.no, reserves=label.covers - lifted, detail=detail))
    for label_name in expression.labels:
        if label_name not in LABELS:
            found.append(note(Reason.UNKNOWN_LABEL, _short(label_name)))
    for reason, detail in expression.notes:
        found.append(note(reason, f"{where}: {detail}"))
    return found


def unique_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Deduplicated, in order: one deciding finding per (reason, reserves, allows), the first
    found (its detail names the first line); one note per (reason, detail)."""
    kept: dict[tuple[object, ...], Finding] = {}
    for finding in findings:
        if finding.reserves or finding.allows:
            key: tuple[object, ...] = (finding.reason, finding.reserves, finding.allows)
        else:
            key = (finding.reason, finding.detail)
        kept.setdefault(key, finding)
    return list(kept.values())


# --- robots.txt -----------------------------------------------------------------------------


def split_scope(value: str) -> tuple[str, str]:
    """(path pattern, expression) of a rule value; an absent path is ``/`` (attach-05 3.2)."""
    if not value.startswith("/"):
        return "/", value
    for index, char in enumerate(value):
        if char in " \t":
            return value[:index], value[index + 1 :].lstrip(" \t")
    return value, ""


@lru_cache(maxsize=2048)
def _scope_rule(pattern: str) -> Rule | None:
    return make_rule(False, pattern[:MAX_EXPRESSION_CHARS], 0)


def scope_rule(pattern: str) -> Rule | None:
    """The compiled path pattern of a rule (robots.txt matching), memoised when short."""
    if len(pattern) <= _CACHED_CHARS:
        return _scope_rule(pattern)
    return make_rule(False, pattern[:MAX_EXPRESSION_CHARS], 0)


def matching_lines(
    lines: Sequence[Extension], path: str, *, longest: bool
) -> tuple[list[tuple[Extension, str, str]], bool]:
    """The lines whose path matches ``path`` (normalised), as (line, pattern, expression), in
    file order: all of them, or (``longest``) those with the longest matching pattern. The
    flag says that lines beyond MAX_RULES were not read."""
    matched: list[tuple[int, Extension, str, str]] = []
    for extension in lines[:MAX_RULES]:
        pattern, expression = split_scope(extension.value)
        rule = scope_rule(pattern)
        if rule is not None and rule.matches(path):
            matched.append((len(rule.normalised), extension, pattern, expression))
    if longest and matched:
        best = max(length for length, *_ in matched)
        matched = [m for m in matched if m[0] == best]
    return [(ext, pattern, expr) for _, ext, pattern, expr in matched], len(lines) > MAX_RULES


def _robots(site: Site) -> RobotsRules | None:
    document = site.document("robots_txt")
    if document is None or not isinstance(document.parsed, RobotsRules):
        return None
    return document.parsed


def _rule_findings(
    lines: Sequence[Extension], path: str, *, permissions: bool, origin: str
) -> tuple[list[Finding], int]:
    """The findings of the rules that apply to ``path``, and how many rules applied."""
    chosen, cut = matching_lines(lines, path, longest=True)
    found: list[Finding] = []
    for extension, pattern, expression in chosen:
        where = f"robots.txt line {extension.line} ({origin}, path {pattern})"
        if not expression:
            found.append(note(Reason.EMPTY, where))
            continue
        found.extend(
            expression_findings(read_expression(expression), where, permissions=permissions)
        )
    if cut:
        found.append(
            Finding(
                Reason.TOO_MANY_RULES,
                reserves=ALL_PURPOSES,
                detail=f"more than {MAX_RULES} Content-Usage rules ({origin})",
            )
        )
    return found, len(chosen)


class ContentUsageCheck(NoLinks):
    """``Content-Usage`` rules of the robots.txt groups that apply to our token."""

    name = "content_usage"
    documents: tuple[str, ...] = ("robots_txt",)

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        rules = _robots(site)
        if rules is None or rules.robots is None:
            return ()  # no robots.txt body: the robots check says what that means
        in_groups, file_level = rules.robots.extensions_for(site.token, "content-usage")
        if not in_groups and not file_level:
            return ()
        path = normalise_path(path_query or "/")
        found, _ = _rule_findings(in_groups, path, permissions=True, origin="group")
        outside, applied = _rule_findings(file_level, path, permissions=False, origin="file level")
        found.extend(outside)
        if applied:
            found.append(
                note(Reason.OUTSIDE_GROUP, f"{applied} Content-Usage rule(s) before any group")
            )
        return tuple(unique_findings(found))


# --- the response header ------------------------------------------------------------------


class ContentUsageHeaderCheck(NoLinks):
    """The ``Content-Usage`` response header (attach-05 section 2), every line on its own."""

    name = "content_usage_header"

    def check(self, asset: Asset) -> Iterable[Finding]:
        found: list[Finding] = []
        for number, value in enumerate(asset.header("content-usage"), start=1):
            value = value.strip(" \t")
            if not value:
                continue
            where = f"Content-Usage header line {number}"
            found.extend(expression_findings(read_expression(value), where))
        return tuple(unique_findings(found))


_REASONS: Mapping[str, str] = {
    Reason.TRAIN_AI_NO: "train-ai=n: training AI models on the content is reserved",
    Reason.AI_USE_NO: "ai-use=n: using the content as AI input (RAG, grounding) is reserved",
    Reason.SEARCH_NO: "search=n: using the content in a search index is reserved",
    Reason.TRAIN_AI_YES: "train-ai=y: AI training is explicitly permitted",
    Reason.AI_USE_YES: "ai-use=y: use as AI input is explicitly permitted",
    Reason.SEARCH_YES: "search=y: search use (only) is explicitly permitted",
    Reason.TRAIN_GENAI_NO: "train-genai=n (earlier drafts): AI training is reserved",
    Reason.GENAI_NO: "genai=n (earlier drafts): AI training is reserved",
    Reason.AI_NO: "ai=n (earlier drafts): AI training is reserved",
    Reason.TDM_NO: "tdm=n (earlier drafts): every purpose is reserved",
    Reason.BOTS_NO: "bots=n (Automated Processing, earlier drafts): every purpose is reserved",
    Reason.ALL_NO: "all=n (Automated Processing, earlier drafts): every purpose is reserved",
    Reason.AI_OUTPUT_NO: "ai-output=n (earlier drafts): AI input and search are reserved",
    Reason.AI_TRAIN_NO: "ai-train=n|no (Content Signals name in Content-Usage): AI training "
    "is reserved",
    Reason.AI_INPUT_NO: "ai-input=n|no (Content Signals name in Content-Usage): AI input is "
    "reserved",
    Reason.LEGACY_YES: "note: a label of earlier drafts (or of Content Signals) set to y, "
    "not read as a permission",
    Reason.UNKNOWN_LABEL: "note: a label no draft defines (ignored)",
    Reason.BAD_VALUE: "note: a value other than y/n (a clear no still reserves)",
    Reason.MALFORMED: "note: not a Structured-Fields Dictionary (clear noes still reserve)",
    Reason.DUPLICATE_LABEL: "note: a label given twice (an earlier n still reserves)",
    Reason.EMPTY: "note: a Content-Usage rule with a path and no preferences",
    Reason.OUTSIDE_GROUP: "note: Content-Usage before any User-agent line: its reservations "
    "apply to every crawler, its permissions are not read",
    Reason.TOO_MANY_RULES: "more Content-Usage rules than we read: every purpose is reserved",
}
_PURPOSES = (
    "train-ai -> train-ai; ai-use -> ai-input; search -> search (search=y permits search "
    "only, never training). Earlier drafts, reservations only: bots, all, tdm -> every purpose; "
    "ai, genai, train-genai -> train-ai; ai-output -> ai-input and search; Content Signals "
    "names ai-train -> train-ai, ai-input -> ai-input."
)
_READING = (
    "Reservations never depend on perfect syntax: a malformed Dictionary, an upper-case value, "
    'a quoted "n" or an earlier duplicate n still reserve; permissions come only from the '
    "tokens y of a valid Dictionary with a current label. Earlier drafts' labels reserve what "
    "their category contained and never permit; an explicit current label in the same "
    "expression decides its own purpose over bots/all/tdm/ai-output. In robots.txt the longest "
    "matching path wins, equal lengths combine most restrictively, a rule without a path is "
    "read as path /; file-level rules (outside any group) reserve for every crawler and never "
    "permit. Header lines are read one by one and combine most restrictively."
)
_ROBOTS_ONLY = frozenset({Reason.EMPTY, Reason.OUTSIDE_GROUP, Reason.TOO_MANY_RULES})
SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo(
        name="IETF AIPREF Content-Usage (robots.txt rule)",
        where="robots.txt Content-Usage lines of the groups for our token, before the fetch",
        source="draft-ietf-aipref-attach-05 section 3 "
        "(https://datatracker.ietf.org/doc/draft-ietf-aipref-attach/), vocabulary "
        "draft-ietf-aipref-vocab-08 (https://datatracker.ietf.org/doc/draft-ietf-aipref-vocab/)",
        reasons=_REASONS,
        purposes=_PURPOSES,
        reading=_READING,
    ),
    SignalInfo(
        name="IETF AIPREF Content-Usage (HTTP header)",
        where="Content-Usage response header, after the fetch",
        source="draft-ietf-aipref-attach-05 section 2 "
        "(https://datatracker.ietf.org/doc/draft-ietf-aipref-attach/), vocabulary "
        "draft-ietf-aipref-vocab-08 (https://datatracker.ietf.org/doc/draft-ietf-aipref-vocab/)",
        reasons={k: v for k, v in _REASONS.items() if k not in _ROBOTS_ONLY},
        purposes=_PURPOSES,
        reading=_READING,
    ),
)
SIGNAL = SIGNALS[0]

__all__ = [
    "LABELS",
    "SIGNAL",
    "SIGNALS",
    "ContentUsageCheck",
    "ContentUsageHeaderCheck",
    "Expression",
    "Label",
    "Preference",
    "Reason",
    "expression_findings",
    "matching_lines",
    "read_expression",
    "scope_rule",
    "split_scope",
    "unique_findings",
]
