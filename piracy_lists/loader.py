"""Piracy list files: validated into frozen records that keep their provenance."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 50 * 1024 * 1024
_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
_JURISDICTION = re.compile(r"^(?:[A-Z]{2}|EU|EEA)$")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class ListFileError(ValueError):
    """A list file that cannot be loaded; the message names the file and the problem."""

    def __init__(self, path: Path | None, message: str) -> None:
        self.path = path
        where = path.name if path is not None else "<list>"
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class PiracyList:
    name: str
    title: str
    issuer: str
    jurisdiction: str
    source: str
    date: dt.date
    domains: frozenset[str]
    path: Path | None = None
    demo: bool = False
    notes: str | None = None


def normalise_host(value: str) -> str:
    """Canonical form of a host name: lowercase ASCII (IDNA), no trailing dot; or ValueError."""
    host = value.strip()
    if not host:
        raise ValueError("empty host name")
    if "://" in host or "/" in host:
        raise ValueError("expected a host name, not a URL")
    if "*" in host:
        raise ValueError("wildcards are not allowed; list the domain itself (subdomains match)")
    if "@" in host:
        raise ValueError("user information is not part of a host name")
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    if ":" in host:
        raise ValueError("ports are not part of a host name")
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    encoded: list[str] = []
    for label in labels:
        if not label:
            raise ValueError("empty label")
        if not label.isascii():
            try:
                label = label.encode("idna").decode("ascii")
            except UnicodeError as exc:
                raise ValueError(f"not a valid internationalised name: {exc}") from exc
        if len(label) > 63:
            raise ValueError("label longer than 63 characters")
        if not _LABEL.match(label):
            raise ValueError(f"invalid label {label!r}")
        encoded.append(label)
    name = ".".join(encoded)
    if len(name) > 253:
        raise ValueError("host name longer than 253 characters")
    return name


def _require_str(table: dict[str, Any], key: str, path: Path | None) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ListFileError(path, f"[list].{key} must be a non-empty string")
    return value.strip()


def parse_list(text: str, path: Path | None = None) -> PiracyList:
    from piracy_lists.matching import public_suffix

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ListFileError(path, f"invalid TOML: {exc}") from exc
    meta = data.get("list")
    if not isinstance(meta, dict):
        raise ListFileError(path, "missing [list] table with the list's provenance")
    name = _require_str(meta, "name", path)
    if not _NAME.match(name):
        raise ListFileError(path, f"[list].name {name!r} must match [a-z0-9_-]+")
    jurisdiction = _require_str(meta, "jurisdiction", path)
    if not _JURISDICTION.match(jurisdiction):
        raise ListFileError(
            path, f"[list].jurisdiction {jurisdiction!r} must be an ISO 3166-1 code, EU or EEA"
        )
    date = meta.get("date")
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise ListFileError(path, "[list].date must be a TOML date (YYYY-MM-DD)")
    demo = meta.get("demo", False)
    if not isinstance(demo, bool):
        raise ListFileError(path, "[list].demo must be true or false")
    notes = meta.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ListFileError(path, "[list].notes must be a string")
    raw_domains = meta.get("domains")
    if not isinstance(raw_domains, list):
        raise ListFileError(path, "[list].domains must be a list of host names")
    domains: set[str] = set()
    for index, entry in enumerate(raw_domains):
        if not isinstance(entry, str):
            raise ListFileError(
                path, f"domains[{index}] must be a string, not {type(entry).__name__}"
            )
        try:
            host = normalise_host(entry)
        except ValueError as exc:
            raise ListFileError(path, f"domains[{index}] {entry!r}: {exc}") from exc
        if public_suffix(host) == host:
            raise ListFileError(
                path, f"domains[{index}] {entry!r}: a public suffix cannot be listed"
            )
        domains.add(host)
    return PiracyList(
        name=name,
        title=_require_str(meta, "title", path),
        issuer=_require_str(meta, "issuer", path),
        jurisdiction=jurisdiction,
        source=_require_str(meta, "source", path),
        date=date,
        domains=frozenset(domains),
        path=path,
        demo=demo,
        notes=notes,
    )


def load_list(path: Path | str) -> PiracyList:
    """Load and validate one list file, or raise :class:`ListFileError`."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ListFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    if size > MAX_FILE_BYTES:
        raise ListFileError(path, f"larger than {MAX_FILE_BYTES} bytes")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ListFileError(path, f"not UTF-8 (byte {exc.start})") from exc
    except OSError as exc:
        raise ListFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    return parse_list(text, path)


def _data_dir() -> Path:
    return Path(str(resources.files("piracy_lists") / "data"))


def demo_list_path() -> Path:
    return _data_dir() / "demo.toml"


def bundled_lists(include_demo: bool = False) -> list[PiracyList]:
    """Every list shipped in ``piracy_lists/data``, by name; demo lists only when asked."""
    lists = [load_list(p) for p in sorted(_data_dir().glob("*.toml"))]
    return sorted((pl for pl in lists if include_demo or not pl.demo), key=lambda pl: pl.name)
