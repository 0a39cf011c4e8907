"""Cloudflare Content Signals: ``Content-Signal`` lines in robots.txt (https://contentsignals.org/).

The policy defines three signals, each ``yes`` or ``no``: ``search`` (building a search index and
showing links and short excerpts; not AI-generated summaries), ``ai-input`` (giving the content to
an AI model at use time: retrieval-augmented generation, grounding, AI answers) and ``ai-train``
(training or fine-tuning AI models). A signal set to ``yes`` grants that use, ``no`` withholds it,
and a signal that is absent says nothing either way. The policy text calls every ``no`` an express
reservation of rights under Article 4 of Directive (EU) 2019/790. We map ``ai-train`` ->
``train-ai``, ``ai-input`` -> ``ai-input``, ``search`` -> ``search``.

**Syntax.** The policy shows a comma-separated list of ``name=value`` pairs
(``Content-Signal: search=yes, ai-train=no``), which is a valid Structured-Fields Dictionary of
tokens in its usual form, but it does not say the value *is* one, and real files write
``Search=Yes``, ``ai-train = no`` or ``ai-train=no; search=yes``, which RFC 9651 rejects whole.
So we read it with our own splitter: members are separated by ``,`` (or ``;``), a member is
``name=value`` (``name: value`` too), blanks around either are ignored and names and values are
compared case-insensitively. A value may be preceded by a path (``Content-Signal: /blog/
ai-train=no``), as some sites write it; the line then applies to URLs that path matches, with
the robots.txt matching rules.

**What is recorded.** A name outside the three (the newer ``use=immediate|reference|full``, which
describes retention rather than a purpose, and typos such as ``ai-retrieval``) is a note
``content_signal.unknown_label``; a value other than yes/no a note ``content_signal.bad_value``.
Misspellings that can only mean one signal (``ai_train``, ``ai-training``, ``train-ai``,
``ai_input``) are noted as unknown and their ``no`` still reserves that signal's purpose; they
never grant. ``n`` is read as ``no`` (AIPREF's spelling), never ``y`` as ``yes``.

**Where it applies.** Lines of every group that applies to our token (all groups naming it,
else the ``*`` groups, as RFC 9309 merges them) and lines before the first group (file level,
addressed to every crawler) all count. The policy defines no precedence between lines, so none
overrides another: a group's line does not lift a file-level ``no`` nor the reverse, and a
line with a longer path does not lift a shorter one's ``no``; every line that applies is read
and the most restrictive statement wins (a ``no`` anywhere beats a ``yes`` elsewhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from optout_service.checks.aipref import matching_lines, unique_findings
from optout_service.checks.base import Finding, NoLinks, SignalInfo, Site, note
from optout_service.policy.robots import RobotsRules
from optout_service.policy.robotstxt import Extension, normalise_path
from optout_service.purposes import ALL_PURPOSES, Purpose


class Reason(StrEnum):
    AI_TRAIN_NO = "content_signal.ai_train_no"  # ai-train=no: AI training is reserved
    AI_INPUT_NO = "content_signal.ai_input_no"  # ai-input=no: use as AI input is reserved
    SEARCH_NO = "content_signal.search_no"  # search=no: search indexing is reserved
    AI_TRAIN_YES = "content_signal.ai_train_yes"  # ai-train=yes: AI training is permitted
    AI_INPUT_YES = "content_signal.ai_input_yes"  # ai-input=yes: use as AI input is permitted
    SEARCH_YES = "content_signal.search_yes"  # search=yes: search indexing is permitted
    # Notes (decide nothing):
    UNKNOWN_LABEL = "content_signal.unknown_label"  # a name outside the three (detail: name=value)
    BAD_VALUE = "content_signal.bad_value"  # a value other than yes/no (detail: name=value)
    # More lines than we read for one URL: the rest are read as reserving every purpose.
    TOO_MANY_RULES = "content_signal.too_many_rules"


@dataclass(frozen=True, slots=True)
class Signal:
    purpose: Purpose
    no: Reason
    yes: Reason


SIGNALS_BY_NAME: Mapping[str, Signal] = {
    "ai-train": Signal(Purpose.TRAIN_AI, Reason.AI_TRAIN_NO, Reason.AI_TRAIN_YES),
    "ai-input": Signal(Purpose.AI_INPUT, Reason.AI_INPUT_NO, Reason.AI_INPUT_YES),
    "search": Signal(Purpose.SEARCH, Reason.SEARCH_NO, Reason.SEARCH_YES),
}
# Misspellings that can only mean one signal: their "no" reserves it, they never grant.
MISSPELLINGS: Mapping[str, str] = {
    "ai_train": "ai-train",
    "aitrain": "ai-train",
    "ai-training": "ai-train",
    "ai_training": "ai-train",
    "train-ai": "ai-train",
    "ai_input": "ai-input",
    "aiinput": "ai-input",
}
_YES = frozenset({"yes"})
_NO = frozenset({"no", "n"})
_CACHED_CHARS = 512
_DETAIL_CHARS = 200


@dataclass(frozen=True, slots=True)
class Statement:
    name: str  # the signal (after a misspelling is resolved)
    allow: bool
    written: str  # name=value as written, for the detail
    exact: bool  # the name is one of the three (only these can grant)


@dataclass(frozen=True, slots=True)
class SignalLine:
    """What one Content-Signal value states, and the notes it gives, in order."""

    statements: tuple[Statement, ...]
    notes: tuple[tuple[Reason, str], ...]


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_CHARS else text[:_DETAIL_CHARS] + "..."


def _read(value: str) -> SignalLine:
    statements: list[Statement] = []
    notes: list[tuple[Reason, str]] = []
    for member in value.replace(";", ",").split(","):
        member = member.strip(" \t")
        if not member:
            continue  # "a=yes,,b=no" or a trailing comma: nothing was said there
        cut = member.find("=")
        if cut < 0:
            cut = member.find(":")
        if cut < 0:
            name, answer = member, ""
        else:
            name, answer = member[:cut], member[cut + 1 :]
        name = name.strip(" \t").lower()
        answer = answer.strip(" \t").strip("\"'").strip(" \t").lower()
        written = _short(f"{name}={answer}")
        signal = name if name in SIGNALS_BY_NAME else MISSPELLINGS.get(name)
        if signal is None or signal != name:
            notes.append((Reason.UNKNOWN_LABEL, written))
        if signal is None:
            continue
        if answer in _NO:
            statements.append(Statement(signal, False, written, signal == name))
        elif answer in _YES:
            if signal == name:
                statements.append(Statement(signal, True, written, True))
        else:
            notes.append((Reason.BAD_VALUE, written))
    return SignalLine(tuple(dict.fromkeys(statements)), tuple(dict.fromkeys(notes)))


_read_cached = lru_cache(maxsize=2048)(_read)


def read_signal(value: str) -> SignalLine:
    """Read one Content-Signal value (without its path); never raises, linear in its length."""
    return _read_cached(value) if len(value) <= _CACHED_CHARS else _read(value)


def signal_findings(line: SignalLine, where: str) -> list[Finding]:
    """The findings of one Content-Signal value; ``where`` prefixes each detail."""
    found: list[Finding] = []
    for statement in line.statements:
        signal = SIGNALS_BY_NAME[statement.name]
        detail = f"{where}: {statement.written}"
        if statement.allow:
            found.append(Finding(signal.yes, allows=frozenset({signal.purpose}), detail=detail))
        else:
            if not statement.exact:
                detail += f" (read as {statement.name})"
            found.append(Finding(signal.no, reserves=frozenset({signal.purpose}), detail=detail))
    found.extend(note(reason, f"{where}: {detail}") for reason, detail in line.notes)
    return found


def _lines_findings(lines: Sequence[Extension], path: str, origin: str) -> list[Finding]:
    chosen, cut = matching_lines(lines, path, longest=False)
    found: list[Finding] = []
    for extension, pattern, value in chosen:
        where = f"robots.txt line {extension.line} ({origin}"
        where += f", path {pattern})" if extension.value.startswith("/") else ")"
        found.extend(signal_findings(read_signal(value), where))
    if cut:
        found.append(
            Finding(
                Reason.TOO_MANY_RULES,
                reserves=ALL_PURPOSES,
                detail=f"too many Content-Signal lines ({origin})",
            )
        )
    return found


class ContentSignalCheck(NoLinks):
    """``Content-Signal`` lines of robots.txt: the groups for our token and the file level."""

    name = "content_signal"
    documents: tuple[str, ...] = ("robots_txt",)

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        document = site.document("robots_txt")
        if document is None or not isinstance(document.parsed, RobotsRules):
            return ()
        robots = document.parsed.robots
        if robots is None:
            return ()  # no robots.txt body: the robots check says what that means
        in_groups, file_level = robots.extensions_for(site.token, "content-signal")
        if not in_groups and not file_level:
            return ()
        path = normalise_path(path_query or "/")
        found = _lines_findings(in_groups, path, "group")
        found += _lines_findings(file_level, path, "file level")
        return tuple(unique_findings(found))


SIGNAL = SignalInfo(
    name="Cloudflare Content Signals (robots.txt Content-Signal)",
    where="robots.txt Content-Signal lines of the groups for our token and of the file level, "
    "before the fetch",
    source="Content Signals Policy, https://contentsignals.org/ (Cloudflare, CC0; "
    "announced at https://blog.cloudflare.com/content-signals-policy/)",
    reasons={
        Reason.AI_TRAIN_NO: "ai-train=no: training or fine-tuning AI models is reserved",
        Reason.AI_INPUT_NO: "ai-input=no: giving the content to AI models at use time (RAG, "
        "grounding, AI answers) is reserved",
        Reason.SEARCH_NO: "search=no: building a search index is reserved",
        Reason.AI_TRAIN_YES: "ai-train=yes: AI training is explicitly permitted",
        Reason.AI_INPUT_YES: "ai-input=yes: use as AI input is explicitly permitted",
        Reason.SEARCH_YES: "search=yes: search indexing is explicitly permitted",
        Reason.UNKNOWN_LABEL: "note: a name outside search/ai-input/ai-train (use=..., typos)",
        Reason.BAD_VALUE: "note: a value other than yes/no",
        Reason.TOO_MANY_RULES: "more Content-Signal lines than we read: every purpose is reserved",
    },
    purposes="ai-train -> train-ai; ai-input -> ai-input; search -> search",
    reading="Read with a lenient splitter, not as Structured Fields (names and values in any "
    "case, blanks around '=', ';' as a separator, an optional leading path). Every line that "
    "applies counts: the groups for our token and the file level alike, and no line (a "
    "group's, or one with a longer path) lifts another's no: the most restrictive wins. 'n' "
    "reads as no; misspelt names that can only mean one signal reserve it and never grant; "
    "use=immediate|reference|full is recorded, not enforced.",
)

__all__ = [
    "MISSPELLINGS",
    "SIGNAL",
    "SIGNALS_BY_NAME",
    "ContentSignalCheck",
    "Reason",
    "Signal",
    "SignalLine",
    "Statement",
    "read_signal",
    "signal_findings",
]
