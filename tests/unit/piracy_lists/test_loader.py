"""List files load whole with their provenance, or fail with an error naming the problem."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from piracy_lists import (
    ListFileError,
    PiracyList,
    bundled_lists,
    demo_list_path,
    load_list,
    normalise_host,
    parse_list,
)
from piracy_lists import loader as loader_module
from tests.unit.piracy_lists.common import DATA, HEADER


def with_domains(*entries: str) -> str:
    return HEADER + "domains = [" + ", ".join(f"'{entry}'" for entry in entries) + "]\n"


# --- the bundled demo list ---------------------------------------------------------------


def test_demo_list_loads_with_its_provenance() -> None:
    demo = load_list(demo_list_path())
    assert demo.name == "demo"
    assert demo.title == "Demo piracy list (fictional)"
    assert demo.issuer == "Demo Rights Authority (fictional)"
    assert demo.jurisdiction == "EU"
    assert "not a real list" in demo.source
    assert demo.date == dt.date(2026, 11, 1)
    assert demo.demo is True
    assert demo.path == demo_list_path()
    assert demo.domains == {"streamvault-free.to", "warezbay-books.net", "kino-raubkopie.de"}


def test_demo_lists_are_loaded_only_when_asked_for() -> None:
    assert all(not piracy_list.demo for piracy_list in bundled_lists())
    with_demo = bundled_lists(include_demo=True)
    assert "demo" in [piracy_list.name for piracy_list in with_demo]
    assert [pl.name for pl in with_demo] == sorted(pl.name for pl in with_demo)


def test_bundled_lists_are_sorted_by_name_and_names_are_unique(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for source in DATA.glob("*.toml"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / "README.md").write_text("not a list")
    monkeypatch.setattr(loader_module, "_data_dir", lambda: tmp_path)
    assert [pl.name for pl in bundled_lists()] == ["at-court-fixture", "it-authority-fixture"]

    (tmp_path / "zz_copy.toml").write_bytes((DATA / "court_at.toml").read_bytes())
    with pytest.raises(ListFileError, match="'at-court-fixture' is also used by"):
        bundled_lists()


def test_entries_are_normalised_and_deduplicated() -> None:
    listed = load_list(DATA / "authority_it.toml")
    assert listed.domains == {
        "streamvault-free.to",
        "www.calcio-gratis.example.it",
        "books.example.co.uk",
        "films.com.au",
        "xn--bcher-frei-9db.de",
        "203.0.113.7",
        "2001:db8::1",
    }
    assert listed.notes == "Test fixture only."
    assert listed.demo is False
    assert listed.path == DATA / "authority_it.toml"


def test_a_list_is_frozen_and_its_repr_stays_short() -> None:
    listed = parse_list(with_domains(*(f"host{n}.example.to" for n in range(500))))
    assert len(listed.domains) == 500
    assert "host1" not in repr(listed)
    with pytest.raises(AttributeError):
        listed.name = "other"  # type: ignore[misc]


def test_an_empty_list_and_optional_fields() -> None:
    listed = parse_list(HEADER + "domains = []\ndemo = false\nnotes = 'n'\n")
    assert listed == PiracyList(
        name="t",
        title="Test list",
        issuer="Test authority",
        jurisdiction="IT",
        source="https://authority.example/list",
        date=dt.date(2026, 1, 31),
        domains=frozenset(),
        notes="n",
    )


@pytest.mark.parametrize("jurisdiction", ["EU", "EEA", "DE", "NO"])
def test_accepted_jurisdictions(jurisdiction: str) -> None:
    body = HEADER.replace('"IT"', f'"{jurisdiction}"') + "domains = []"
    assert parse_list(body).jurisdiction == jurisdiction


# --- broken files ------------------------------------------------------------------------

BROKEN = [
    pytest.param("name = [valid", "invalid TOML: ", id="bad-toml"),
    pytest.param("[list]\nname = 'a'\ntitle =\n", "(at line 3, column 8)", id="toml-line"),
    pytest.param('domains = ["x.to"]', "missing [list] table", id="no-list-table"),
    pytest.param(
        HEADER + "domains = []\n[extra]\nk = 1",
        "unknown top-level keys ['extra']",
        id="extra-table",
    ),
    pytest.param(
        HEADER + "domains = []\nnote = 'x'", "unknown keys in [list]: ['note']", id="typo"
    ),
    pytest.param(
        HEADER.replace('issuer = "Test authority"\n', "") + "domains = []",
        "[list].issuer is missing",
        id="missing-issuer",
    ),
    pytest.param(
        HEADER.replace('title = "Test list"', "title = 3") + "domains = []",
        "[list].title must be a non-empty string",
        id="title-not-string",
    ),
    pytest.param(
        HEADER.replace('source = "https://authority.example/list"', 'source = "  "')
        + "domains = []",
        "[list].source must be a non-empty string",
        id="blank-source",
    ),
    pytest.param(
        HEADER.replace('name = "t"', 'name = "Bad Name"') + "domains = []",
        "[list].name 'Bad Name' must match",
        id="bad-name",
    ),
    pytest.param(
        HEADER.replace('"IT"', '"Italy"') + "domains = []",
        "[list].jurisdiction 'Italy' must be an ISO 3166-1",
        id="bad-jurisdiction",
    ),
    pytest.param(
        HEADER.replace('"IT"', '"it"') + "domains = []",
        "[list].jurisdiction 'it'",
        id="lowercase-jurisdiction",
    ),
    pytest.param(
        HEADER.replace("date = 2026-01-31", 'date = "2026-01-31"') + "domains = []",
        "[list].date must be a TOML date",
        id="quoted-date",
    ),
    pytest.param(
        HEADER.replace("date = 2026-01-31", "date = 2026-01-31T10:00:00Z") + "domains = []",
        "[list].date must be a TOML date",
        id="datetime-not-date",
    ),
    pytest.param(
        HEADER.replace("date = 2026-01-31", "date = 2026-02-30") + "domains = []",
        "invalid TOML",
        id="impossible-date",
    ),
    pytest.param(
        HEADER.replace("date = 2026-01-31\n", "") + "domains = []",
        "[list].date must be a TOML date",
        id="missing-date",
    ),
    pytest.param(
        HEADER + "domains = []\ndemo = 'yes'", "[list].demo must be true or false", id="demo"
    ),
    pytest.param(HEADER + "domains = []\nnotes = 1", "[list].notes must be a string", id="notes"),
    pytest.param(HEADER, "[list].domains is missing", id="missing-domains"),
    pytest.param(HEADER + 'domains = "x.to"', "[list].domains must be a list", id="domains-str"),
    pytest.param(
        HEADER + 'domains = ["ok.to", 7]', "domains[1] must be a string, not int", id="int-entry"
    ),
    pytest.param(
        with_domains("ok.to", "ok.net", "ok.de", "http://x.to/a"),
        "domains[3] 'http://x.to/a': expected a host name, not a URL",
        id="url-entry",
    ),
    pytest.param(
        with_domains("x.to/a"), "domains[0] 'x.to/a': expected a host name, without a path"
    ),
    pytest.param(with_domains("*.x.to"), "domains[0] '*.x.to': wildcards", id="wildcard"),
    pytest.param(with_domains("x.to:80"), "domains[0] 'x.to:80': ports", id="port"),
    pytest.param(with_domains("me@x.to"), "user information", id="userinfo"),
    pytest.param(with_domains("co.uk"), "domains[0] 'co.uk': is a public suffix", id="co.uk"),
    pytest.param(with_domains("TO."), "domains[0] 'TO.': is a public suffix", id="tld"),
    pytest.param(with_domains("x.kawasaki.jp"), "is a public suffix", id="wildcard-suffix"),
    pytest.param(with_domains("localhost"), "a single label", id="single-label"),
    pytest.param(with_domains("a..b.to"), "empty label", id="empty-label"),
    pytest.param(with_domains(""), "domains[0] '': empty host name", id="empty"),
    pytest.param(with_domains("bad_host!.to"), "invalid label 'bad_host!'", id="bad-char"),
    pytest.param(with_domains("a b.to"), "invalid label 'a b'", id="space"),
    pytest.param(with_domains("a" * 64 + ".to"), "label longer than 63", id="long-label"),
    pytest.param(
        with_domains(".".join(["a" * 60] * 5)), "longer than 253 characters", id="long-name"
    ),
    pytest.param(with_domains("xn--zz-.to"), "not valid punycode", id="ascii-punycode"),
    pytest.param(with_domains("xn--ab-9.to"), "not valid punycode", id="bad-punycode"),
    pytest.param(with_domains("straße.de"), "write the entry in its xn-- form", id="eszett"),
    pytest.param(with_domains("10.0.0.256"), "numeric last label", id="bad-ipv4"),
    pytest.param(with_domains("[x.to]"), "brackets must hold an IPv6 address", id="brackets"),
    pytest.param(with_domains("fe80::1%eth0"), "zone identifiers", id="zone"),
]


@pytest.mark.parametrize(("body", "message"), BROKEN)
def test_broken_files_name_the_file_and_the_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ListFileError) as info:
        load_list(path)
    assert str(info.value).startswith("broken.toml: ")
    assert message in str(info.value)
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


def test_the_error_names_the_exact_entry(tmp_path: Path) -> None:
    path = tmp_path / "demo.toml"
    path.write_text(with_domains("a.to", "b.to", "c.to", "http://x.to/a"), encoding="utf-8")
    with pytest.raises(ListFileError) as info:
        load_list(path)
    assert str(info.value) == (
        "demo.toml: domains[3] 'http://x.to/a': expected a host name, not a URL"
    )
    assert info.value.reason == "domains[3] 'http://x.to/a': expected a host name, not a URL"


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match=r"missing\.toml: cannot read: no such file"):
        load_list(tmp_path / "missing.toml")
    (tmp_path / "dir.toml").mkdir()
    with pytest.raises(ListFileError, match="is not a regular file"):
        load_list(tmp_path / "dir.toml")


def test_non_utf8_bytes_are_reported_with_their_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(HEADER.encode() + 'domains = ["b\xfccher.de"]'.encode("latin-1"))
    with pytest.raises(ListFileError, match=r"latin.toml: not UTF-8 \(line 8, byte \d+\)"):
        load_list(path)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + with_domains("x.to").encode())
    assert load_list(path).domains == {"x.to"}


def test_oversize_files_are_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loader_module, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.toml"
    path.write_text(with_domains(*(f"h{n}.example.to" for n in range(100))), encoding="utf-8")
    with pytest.raises(ListFileError, match=r"big\.toml: larger than 1000 bytes"):
        load_list(path)
    path.write_text(with_domains("x.to"), encoding="utf-8")
    assert load_list(path).domains == {"x.to"}


def test_the_real_size_limit_is_50_mib() -> None:
    assert loader_module.MAX_FILE_BYTES == 50 * 1024 * 1024


# --- normalise_host ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.TO", "example.to"),
        ("  example.to.  ", "example.to"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("example\u3002to", "example.to"),
        ("_dmarc.example.to", "_dmarc.example.to"),
        ("a-b--c.to", "a-b--c.to"),
        ("203.0.113.7", "203.0.113.7"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("1.2.3.4a", "1.2.3.4a"),
        ("a" * 63 + ".to", "a" * 63 + ".to"),
    ],
)
def test_normalise_host(raw: str, expected: str) -> None:
    assert normalise_host(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty host name"),
        ("   ", "empty host name"),
        ("https://x.to", "not a URL"),
        ("x.to?q", "without a path"),
        ("x.to#f", "without a path"),
        ("x.to\\a", "without a path"),
        ("u@x.to", "user information"),
        ("*.x.to", "wildcards"),
        ("x.to:443", "ports"),
        (".x.to", "empty label"),
        ("x.to..", "empty label"),
        ("x!.to", "invalid label"),
        ("127.1", "numeric last label"),
        ("0x7f.0x1", "numeric last label"),
        ("010.0.0.1", "numeric last label"),
        ("x" * 2000, "longer than 253"),
    ],
)
def test_normalise_host_rejects(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?")):
        normalise_host(raw)
