"""Piracy lists with their provenance, and an offline registrable-domain matcher."""

from piracy_lists.loader import (
    ListFileError,
    PiracyList,
    bundled_lists,
    demo_list_path,
    load_list,
    normalise_host,
    parse_list,
)
from piracy_lists.matching import PiracyMatch, PiracyMatcher

__all__ = [
    "ListFileError",
    "PiracyList",
    "PiracyMatch",
    "PiracyMatcher",
    "bundled_lists",
    "demo_list_path",
    "load_list",
    "normalise_host",
    "parse_list",
]
