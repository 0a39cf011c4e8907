"""What a crawl's data is for. Every vocabulary of every signal is read onto these purposes
(the table is ``docs/signals.md``); a reservation applies to a crawl when it reserves one of the
crawl's purposes."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    TRAIN_AI = "train-ai"  # training (or fine-tuning) AI models
    AI_INPUT = "ai-input"  # input to an AI model at use time: grounding, retrieval (RAG)
    SEARCH = "search"  # building a search index and linking to results


ALL_PURPOSES = frozenset(Purpose)
DEFAULT_PURPOSES: tuple[Purpose, ...] = (Purpose.TRAIN_AI,)


def parse_purposes(values: list[str] | tuple[str, ...]) -> tuple[Purpose, ...]:
    """Purposes from their names, in order and without repeats; ValueError names an unknown one."""
    found: list[Purpose] = []
    for value in values:
        try:
            purpose = Purpose(value.strip().lower())
        except ValueError:
            known = ", ".join(p.value for p in Purpose)
            raise ValueError(f"unknown purpose {value!r} (known: {known})") from None
        if purpose not in found:
            found.append(purpose)
    return tuple(found)
