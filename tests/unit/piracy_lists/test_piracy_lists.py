"""Loading list files with provenance, and matching hosts on registrable domains, offline."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from piracy_lists import (
    ListFileError,
    PiracyMatcher,
    bundled_lists,
    demo_list_path,
    load_list,
    parse_list,
)

HEADER = """[list]
name = "t"
title = "Test list"
issuer = "Test authority"
jurisdiction = "IT"
source = "https://authority.example/list"
date = 2026-01-31
"""


def matcher(*domains: str) -> PiracyMatcher:
    body = HEADER + "domains = [" + ", ".join(f'"{d}"' for d in domains) + "]\n"
    return PiracyMatcher([parse_list(body)])


def test_demo_list_loads_with_provenance() -> None:
    demo = load_list(demo_list_path())
    assert demo.name == "demo"
    assert demo.demo
    assert demo.jurisdiction == "EU"
    assert demo.date == dt.date(2026, 11, 1)
    assert "streamvault-free.to" in demo.domains
    assert demo not in bundled_lists()  # demo lists are never loaded by default
    assert demo in bundled_lists(include_demo=True)


@pytest.mark.parametrize(
    ("listed", "host", "expected"),
    [
        ("pirate.to", "pirate.to", "pirate.to"),
        ("pirate.to", "www.pirate.to", "pirate.to"),
        ("pirate.to", "a.b.c.pirate.to", "pirate.to"),
        ("pirate.to", "PIRATE.TO.", "pirate.to"),
        ("pirate.to", "pirate.to:8443", "pirate.to"),
        ("pirate.to", "https://cdn.pirate.to/x?y", "pirate.to"),
        ("pirate.to", "notpirate.to", None),
        ("pirate.to", "pirate.to.evil.com", None),
        ("pirate.to", "pirate.tv", None),
        ("books.example.co.uk", "books.example.co.uk", "books.example.co.uk"),
        ("books.example.co.uk", "www.books.example.co.uk", "books.example.co.uk"),
        ("books.example.co.uk", "example.co.uk", None),
        ("films.com.au", "www.films.com.au", "films.com.au"),
        ("bücher-frei.de", "xn--bcher-frei-9db.de", "xn--bcher-frei-9db.de"),
        ("xn--bcher-frei-9db.de", "www.bücher-frei.de", "xn--bcher-frei-9db.de"),
        ("203.0.113.7", "203.0.113.7", "203.0.113.7"),
        ("203.0.113.7", "http://203.0.113.7:8080/", "203.0.113.7"),
        ("2001:db8::1", "[2001:DB8::1]", "2001:db8::1"),
        ("pirate.to", "203.0.113.7", None),
    ],
)
def test_matching(listed: str, host: str, expected: str | None) -> None:
    found = matcher(listed).match(host)
    assert (found.matched_domain if found else None) == expected
    if found:
        assert found.lists[0].issuer == "Test authority"


def test_all_lists_naming_a_domain_are_reported() -> None:
    one = parse_list(HEADER + 'domains = ["pirate.to"]')
    two = parse_list(
        HEADER.replace('name = "t"', 'name = "u"') + 'domains = ["pirate.to", "other.net"]'
    )
    found = PiracyMatcher([one, two]).match("www.pirate.to")
    assert found is not None
    assert [pl.name for pl in found.lists] == ["t", "u"]


def test_unusable_input_raises_so_callers_fail_closed() -> None:
    with pytest.raises(ValueError):
        matcher("pirate.to").match("http:///nohost")
    with pytest.raises(ValueError):
        matcher("pirate.to").match("bad host name")


def test_matching_never_touches_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert matcher("pirate.to").match("x.unusual-suffix.pirate.to") is not None
    assert matcher("a.b.c").match("q.a.b.c") is not None  # unknown TLD: no suffix, still matched


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not = [valid", "invalid TOML"),
        ('domains = ["x.to"]', "missing [list]"),
        (HEADER.replace('issuer = "Test authority"\n', "") + "domains = []", "[list].issuer"),
        (HEADER.replace('name = "t"', 'name = "Bad Name"') + "domains = []", "[list].name"),
        (
            HEADER.replace('jurisdiction = "IT"', 'jurisdiction = "Italy"') + "domains = []",
            "jurisdiction",
        ),
        (HEADER.replace("date = 2026-01-31", 'date = "2026-01-31"') + "domains = []", "TOML date"),
        (HEADER + 'domains = "x.to"', "must be a list"),
        (HEADER + 'domains = ["ok.to", 7]', "domains[1] must be a string"),
        (
            HEADER + 'domains = ["ok.to", "http://x.to/a"]',
            "domains[1] 'http://x.to/a': expected a host name, not a URL",
        ),
        (HEADER + 'domains = ["*.x.to"]', "wildcards"),
        (HEADER + 'domains = ["x.to:80"]', "ports"),
        (HEADER + 'domains = ["co.uk"]', "public suffix"),
        (HEADER + 'domains = ["a..b.to"]', "empty label"),
        (HEADER + 'domains = ["bad_host!.to"]', "invalid label"),
    ],
)
def test_broken_list_files_give_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(body)
    with pytest.raises(ListFileError) as info:
        load_list(path)
    assert str(info.value).startswith("broken.toml: ")
    assert message in str(info.value)


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match="cannot read"):
        load_list(tmp_path / "missing.toml")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(HEADER.encode() + 'domains = ["b\xfccher.de"]'.encode("latin-1"))
    with pytest.raises(ListFileError, match="not UTF-8"):
        load_list(latin)
