"""Piracy list files: validated into frozen records that keep their provenance.

A list file is curated data, so it loads whole or not at all: any problem raises
:class:`ListFileError` naming the file, the field or entry, and what is wrong.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63

_NAME = re.compile(r"[a-z0-9_-]{1,64}")
_JURISDICTION = re.compile(r"[A-Z]{2}|EU|EEA")
_ASCII_LABEL = re.compile(r"[a-z0-9_-]+")
# A last label that WHATWG URL parsers read as a number makes the whole host an IPv4 address.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# Separators that IDNA treats like '.' (ideographic and full-width full stops).
_DOT_VARIANTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
# Characters that IDNA 2003 maps away but IDNA 2008 keeps: the two standards disagree on them.
_IDNA_DEVIATIONS = frozenset("\u00df\u03c2\u200c\u200d")
# Input longer than this cannot be a host name under any encoding; refuse it before any work.
_MAX_RAW_LENGTH = 4 * MAX_HOST_LENGTH

_REQUIRED_TEXT = ("name", "title", "issuer", "jurisdiction", "source")
_KNOWN_KEYS = frozenset({*_REQUIRED_TEXT, "date", "demo", "notes", "domains"})


class ListFileError(ValueError):
    """A list file that cannot be loaded; the message names the file and the problem."""

    def __init__(self, path: Path | None, reason: str) -> None:
        self.path = path
        self.reason = reason
        where = path.name if path is not None else "<list>"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class PiracyList:
    """One published list and where it comes from; ``domains`` are normalised host names."""

    name: str
    title: str
    issuer: str
    jurisdiction: str
    source: str
    date: dt.date
    domains: frozenset[str] = field(repr=False)
    path: Path | None = None
    demo: bool = False
    notes: str | None = None


def normalise_host(value: str) -> str:
    """Canonical form of a host name or IP literal, or ValueError saying what is wrong.

    Host names are lowercased, lose one trailing dot, and Unicode labels become their
    IDNA 2003 ASCII form (the stdlib ``idna`` codec); ``xn--`` labels must be valid punycode
    and are kept as written. Labels may hold ``a-z``, ``0-9``, ``-`` and ``_``. IP literals
    (IPv6 with or without brackets) come back in :mod:`ipaddress`'s canonical text.
    """
    host = value.strip()
    if not host:
        raise ValueError("empty host name")
    if len(host) > _MAX_RAW_LENGTH:
        raise ValueError(f"longer than {MAX_HOST_LENGTH} characters")
    if "://" in host:
        raise ValueError("expected a host name, not a URL")
    if any(char in host for char in "/?#\\"):
        raise ValueError("expected a host name, without a path, query or fragment")
    if "@" in host:
        raise ValueError("user information is not part of a host name")
    if "*" in host:
        raise ValueError("wildcards are not allowed; list the domain itself (subdomains match)")
    if "%" in host:
        raise ValueError("IPv6 zone identifiers and percent-escapes are not allowed")
    if host.startswith("[") and host.endswith("]"):
        try:
            return str(ipaddress.IPv6Address(host[1:-1]))
        except ValueError:
            raise ValueError("brackets must hold an IPv6 address") from None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if ":" in host:
        raise ValueError("ports are not part of a host name")
    host = host.lower().translate(_DOT_VARIANTS)
    if host.endswith("."):
        host = host[:-1]
    labels = [_ascii_label(label) for label in host.split(".")]
    name = ".".join(labels)
    if len(name) > MAX_HOST_LENGTH:
        raise ValueError(f"host name longer than {MAX_HOST_LENGTH} characters")
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise ValueError("a numeric last label makes this an IP address, and it is not a valid one")
    return name


def _ascii_label(label: str) -> str:
    if not label:
        raise ValueError("empty label")
    if not label.isascii():
        try:
            label = label.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ValueError(f"label {label!r} is not a valid internationalised name") from exc
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueError(f"label longer than {MAX_LABEL_LENGTH} characters")
    if not _ASCII_LABEL.fullmatch(label):
        raise ValueError(f"invalid label {label!r}: only a-z, 0-9, '-' and '_' are allowed")
    if label.startswith("xn--") and not _valid_punycode(label[4:]):
        raise ValueError(f"invalid label {label!r}: not valid punycode")
    return label


def _valid_punycode(encoded: str) -> bool:
    # The stdlib decoder is lenient: also require non-ASCII output that encodes back the same.
    try:
        decoded = encoded.encode("ascii").decode("punycode")
    except UnicodeError:
        return False
    return not decoded.isascii() and decoded.encode("punycode") == encoded.encode("ascii")


def parse_list(text: str, path: Path | None = None) -> PiracyList:
    """Validate the text of one list file; ``path`` is recorded as provenance and in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ListFileError(path, f"invalid TOML: {exc}") from exc
    meta = data.get("list")
    if not isinstance(meta, dict):
        raise ListFileError(path, "missing [list] table with the list's provenance")
    extra = sorted(set(data) - {"list"})
    if extra:
        raise ListFileError(path, f"unknown top-level keys {extra}: everything lives in [list]")
    unknown = sorted(set(meta) - _KNOWN_KEYS)
    if unknown:
        raise ListFileError(
            path, f"unknown keys in [list]: {unknown}; allowed: {sorted(_KNOWN_KEYS)}"
        )
    text_fields = {key: _required_text(meta, key, path) for key in _REQUIRED_TEXT}
    if not _NAME.fullmatch(text_fields["name"]):
        raise ListFileError(
            path, f"[list].name {text_fields['name']!r} must match [a-z0-9_-]+ (at most 64)"
        )
    if not _JURISDICTION.fullmatch(text_fields["jurisdiction"]):
        raise ListFileError(
            path,
            f"[list].jurisdiction {text_fields['jurisdiction']!r} must be an ISO 3166-1 "
            "alpha-2 code (upper case), EU or EEA",
        )
    date = meta.get("date")
    # A TOML date-time loads as datetime, a subclass of date: the version of a list is a day.
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ListFileError(path, "[list].date must be a TOML date (YYYY-MM-DD, unquoted)")
    demo = meta.get("demo", False)
    if not isinstance(demo, bool):
        raise ListFileError(path, "[list].demo must be true or false")
    notes = meta.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ListFileError(path, "[list].notes must be a string")
    return PiracyList(
        name=text_fields["name"],
        title=text_fields["title"],
        issuer=text_fields["issuer"],
        jurisdiction=text_fields["jurisdiction"],
        source=text_fields["source"],
        date=date,
        domains=_domains(meta.get("domains"), path),
        path=path,
        demo=demo,
        notes=notes,
    )


def _required_text(meta: dict[str, Any], key: str, path: Path | None) -> str:
    value = meta.get(key)
    if value is None:
        raise ListFileError(path, f"[list].{key} is missing")
    if not isinstance(value, str) or not value.strip():
        raise ListFileError(path, f"[list].{key} must be a non-empty string")
    return value.strip()


def _domains(raw: object, path: Path | None) -> frozenset[str]:
    # Imported here: matching imports this module, and the suffix check needs its extractor.
    from piracy_lists.matching import public_suffix

    if raw is None:
        raise ListFileError(path, "[list].domains is missing (write domains = [] for none)")
    if not isinstance(raw, list):
        raise ListFileError(path, "[list].domains must be a list of host names")
    domains: set[str] = set()
    for index, entry in enumerate(raw):
        where = f"domains[{index}]"
        if not isinstance(entry, str):
            raise ListFileError(path, f"{where} must be a string, not {type(entry).__name__}")
        if _IDNA_DEVIATIONS.intersection(entry.lower()):
            raise ListFileError(
                path,
                f"{where} {entry!r}: contains a character (ß, ς, ZWJ, ZWNJ) that IDNA 2003 and "
                "IDNA 2008 encode differently; write the entry in its xn-- form",
            )
        try:
            host = normalise_host(entry)
        except ValueError as exc:
            raise ListFileError(path, f"{where} {entry!r}: {exc}") from None
        if not _is_ip(host):
            if public_suffix(host) == host:
                raise ListFileError(
                    path,
                    f"{where} {entry!r}: is a public suffix and cannot be listed; "
                    "list the registrable domains under it",
                )
            if "." not in host:
                raise ListFileError(
                    path, f"{where} {entry!r}: a single label is not a domain that can be listed"
                )
        domains.add(host)
    return frozenset(domains)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read_capped(source: Path | Traversable, path: Path) -> bytes:
    try:
        with source.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ListFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise ListFileError(path, f"larger than {MAX_FILE_BYTES} bytes")
    return data


def _decode(data: bytes, path: Path) -> str:
    try:
        # utf-8-sig: a byte order mark some editors add is not an error.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ListFileError(path, f"not UTF-8 (line {line}, byte {exc.start})") from None


def load_list(path: Path | str) -> PiracyList:
    """Load and validate one list file, or raise :class:`ListFileError`."""
    path = Path(path)
    if not path.is_file():
        reason = "is not a regular file" if path.exists() else "no such file"
        raise ListFileError(path, f"cannot read: {reason}")
    return parse_list(_decode(_read_capped(path, path), path), path)


def _data_dir() -> Traversable:
    return resources.files("piracy_lists") / "data"


def demo_list_path() -> Path:
    """The bundled fictional list used by the offline demo and the tests."""
    return Path(str(_data_dir() / "demo.toml"))


def bundled_lists(include_demo: bool = False) -> list[PiracyList]:
    """Every list shipped in ``piracy_lists/data``, by name; demo lists only when asked."""
    loaded: dict[str, PiracyList] = {}
    for entry in _data_dir().iterdir():
        if not entry.name.endswith(".toml") or not entry.is_file():
            continue
        path = Path(str(entry))
        piracy_list = parse_list(_decode(_read_capped(entry, path), path), path)
        earlier = loaded.get(piracy_list.name)
        if earlier is not None:
            where = earlier.path.name if earlier.path else "another file"
            raise ListFileError(path, f"[list].name {piracy_list.name!r} is also used by {where}")
        loaded[piracy_list.name] = piracy_list
    return [loaded[name] for name in sorted(loaded) if include_demo or not loaded[name].demo]
