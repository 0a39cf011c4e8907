"""Reservations embedded in a non-HTML asset: XMP (PDF, images), the EPUB package document, C2PA.

The crawler extracts the metadata (``crawler/metadata.py``: bounded, never the asset itself) and
posts it with its observation; the self-check takes ``xmp`` and ``package_opf`` as given. This
check reads three vocabularies from it:

- **TDMRep** (W3C TDM Reservation Protocol, CG final report, https://www.w3.org/2022/tdmrep/):
  ``tdm:reservation`` (``1`` reserved, ``0`` not reserved, anything else "unset") and
  ``tdm:policy`` in the XMP packet of a PDF (section "TDM Metadata in PDF files", namespace
  ``http://www.w3.org/ns/tdmrep/``) and in the EPUB package document (sections "TDM Metadata in
  EPUB 3 files", ``<meta property="tdm:reservation">1</meta>``, and "... EPUB 2 files",
  ``<meta name="tdm:reservation" content="1"/>``). Images carry the same XMP properties.
- **IPTC PLUS** ``plus:DataMining`` (PLUS LDF, http://ns.useplus.org/LDF/ldf-XMPSpecification#DataMining,
  adopted by the IPTC Photo Metadata Standard 2023.1 as "Data Mining"): one value of the
  ``http://ns.useplus.org/ldf/vocab/DMI-*`` vocabulary.
- **CAWG / C2PA training and data mining assertion** (CAWG, https://cawg.io/training-and-data-mining/,
  earlier ``c2pa.training-mining`` of the C2PA 1.x specification): entries
  ``cawg.ai_generative_training``, ``cawg.ai_training``, ``cawg.ai_inference``,
  ``cawg.data_mining`` (or their ``c2pa.`` forms), each ``{"use": "allowed" | "notAllowed" |
  "constrained", "constraint_info": str?}``.

Fail-closed rule: what cannot be read decides nothing by itself (a note, ``embedded.unreadable``
or ``embedded.extract_error``), but an unparseable XMP packet or package document is still read
by a tolerant scan for *reserving* statements only: a reservation written in a broken packet is
still the rights holder's statement, while a broken packet never lifts anything. No finding
raises; the findings of one asset are deterministic and deduplicated.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as StdET
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser

import defusedxml.ElementTree as DefusedET  # type: ignore[import-untyped]

from optout_service.checks.base import (
    Asset,
    EmbeddedMetadata,
    Finding,
    NoLinks,
    SignalInfo,
    note,
)
from optout_service.purposes import ALL_PURPOSES, Purpose

# What one asset can make us parse: the crawler sends at most 256 KiB of each; the self-check
# may send more, and a packet beyond these is only scanned (tolerantly, for reservations).
MAX_XML_CHARS = 1024 * 1024
MAX_SCAN_CHARS = 1024 * 1024
MAX_C2PA_ASSERTIONS = 64  # assertions read per asset
MAX_ERROR_NOTES = 16  # extractor errors recorded per asset
MAX_DETAIL_CHARS = 200


class Reason(StrEnum):
    # XMP (PDF, image) tdm:reservation = 1: TDM rights reserved (tdm:policy in Finding.license)
    XMP_TDM_RESERVED = "xmp.tdm_reserved"
    # XMP tdm:reservation = 0: TDM rights explicitly not reserved
    XMP_TDM_NOT_RESERVED = "xmp.tdm_not_reserved"
    # XMP tdm:reservation with any other value: a protocol error, read as unset
    XMP_TDM_INVALID = "xmp.tdm_invalid"
    # EPUB package document tdm:reservation = 1 (EPUB 3 property or EPUB 2 name/content)
    EPUB_TDM_RESERVED = "epub.tdm_reserved"
    # EPUB package document tdm:reservation = 0
    EPUB_TDM_NOT_RESERVED = "epub.tdm_not_reserved"
    # EPUB package document tdm:reservation with another value: unset
    EPUB_TDM_INVALID = "epub.tdm_invalid"
    # plus:DataMining DMI-PROHIBITED: all data mining prohibited, search indexing included
    PLUS_PROHIBITED = "plus.data_mining_prohibited"
    # plus:DataMining DMI-PROHIBITED-AIMLTRAINING: AI/ML training prohibited
    PLUS_AI_TRAINING_PROHIBITED = "plus.ai_training_prohibited"
    # plus:DataMining DMI-PROHIBITED-GENAIMLTRAINING: generative AI/ML training prohibited
    PLUS_GENAI_TRAINING_PROHIBITED = "plus.genai_training_prohibited"
    # plus:DataMining DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING: all but search indexing prohibited
    PLUS_PROHIBITED_EXCEPT_SEARCH = "plus.prohibited_except_search"
    # plus:DataMining DMI-PROHIBITED-SEE*: prohibited, terms in another property we do not read
    PLUS_PROHIBITED_SEE_TERMS = "plus.prohibited_see_terms"
    # plus:DataMining DMI-ALLOWED: data mining allowed
    PLUS_ALLOWED = "plus.data_mining_allowed"
    # plus:DataMining DMI-UNSPECIFIED: no statement
    PLUS_UNSPECIFIED = "plus.data_mining_unspecified"
    # plus:DataMining with a value outside the vocabulary: recorded, decides nothing
    PLUS_UNKNOWN = "plus.unknown_value"
    # C2PA/CAWG ai_training or ai_generative_training notAllowed
    C2PA_TRAINING_NOT_ALLOWED = "c2pa.training_not_allowed"
    # C2PA/CAWG ai_training or ai_generative_training constrained (read as notAllowed)
    C2PA_TRAINING_CONSTRAINED = "c2pa.training_constrained"
    # C2PA/CAWG ai_training or ai_generative_training allowed
    C2PA_TRAINING_ALLOWED = "c2pa.training_allowed"
    # C2PA/CAWG data_mining notAllowed
    C2PA_MINING_NOT_ALLOWED = "c2pa.mining_not_allowed"
    # C2PA/CAWG data_mining constrained (read as notAllowed)
    C2PA_MINING_CONSTRAINED = "c2pa.mining_constrained"
    # C2PA/CAWG data_mining allowed
    C2PA_MINING_ALLOWED = "c2pa.mining_allowed"
    # C2PA/CAWG ai_inference notAllowed
    C2PA_INFERENCE_NOT_ALLOWED = "c2pa.inference_not_allowed"
    # C2PA/CAWG ai_inference constrained (read as notAllowed)
    C2PA_INFERENCE_CONSTRAINED = "c2pa.inference_constrained"
    # C2PA/CAWG ai_inference allowed
    C2PA_INFERENCE_ALLOWED = "c2pa.inference_allowed"
    # a training-mining entry we do not know (a custom label) or a use value outside the spec
    C2PA_UNKNOWN = "c2pa.unknown_entry"
    # a training-mining assertion whose data is not a map of entries
    C2PA_UNREADABLE = "c2pa.unreadable"
    # an XMP packet or package document that is not well-formed XML (or too large to parse)
    UNREADABLE = "embedded.unreadable"
    # what the crawler's extractor reported it could not read
    EXTRACT_ERROR = "embedded.extract_error"


# TDM, as TDMRep and C2PA's data_mining mean it, covers training and use-time input; we do not
# read it as covering search indexing (the same reading as the tdmrep check).
TDM_PURPOSES = frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT})
TRAINING = frozenset({Purpose.TRAIN_AI})
INFERENCE = frozenset({Purpose.AI_INPUT})

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# The PDF section of the final report names http://www.w3.org/ns/tdmrep/; the JSON-LD context of
# TDM policies uses ...tdmrep#, EPUB 3 prefixes commonly bind either, and an early draft used
# .../tdmrep/xml. Each is the same vocabulary: a statement in any of them is read.
TDM_NAMESPACES = frozenset(
    {
        "http://www.w3.org/ns/tdmrep/",
        "http://www.w3.org/ns/tdmrep#",
        "http://www.w3.org/ns/tdmrep",
        "http://www.w3.org/ns/tdmrep/xml",
        "https://www.w3.org/ns/tdmrep/",
        "https://www.w3.org/ns/tdmrep#",
    }
)
# plus:DataMining; the IPTC Extension namespace too, where some writers put the same property.
PLUS_NAMESPACES = frozenset(
    {"http://ns.useplus.org/ldf/xmp/1.0/", "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"}
)
PLUS_VOCAB_PREFIXES = ("http://ns.useplus.org/ldf/vocab/", "https://ns.useplus.org/ldf/vocab/")


@dataclass(frozen=True, slots=True)
class _PlusValue:
    reason: Reason
    reserves: frozenset[Purpose]
    allows: frozenset[Purpose]


# The DMI vocabulary (PLUS LDF "Data Mining" values, IPTC Photo Metadata 2023.1), keyed by the
# code after the vocabulary URI, upper-cased (writers differ in case).
PLUS_VALUES: Mapping[str, _PlusValue] = {
    "DMI-UNSPECIFIED": _PlusValue(Reason.PLUS_UNSPECIFIED, frozenset(), frozenset()),
    "DMI-ALLOWED": _PlusValue(Reason.PLUS_ALLOWED, frozenset(), ALL_PURPOSES),
    "DMI-PROHIBITED-AIMLTRAINING": _PlusValue(
        Reason.PLUS_AI_TRAINING_PROHIBITED, TRAINING, frozenset()
    ),
    "DMI-PROHIBITED-GENAIMLTRAINING": _PlusValue(
        Reason.PLUS_GENAI_TRAINING_PROHIBITED, TRAINING, frozenset()
    ),
    "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING": _PlusValue(
        Reason.PLUS_PROHIBITED_EXCEPT_SEARCH, TDM_PURPOSES, frozenset({Purpose.SEARCH})
    ),
    "DMI-PROHIBITED": _PlusValue(Reason.PLUS_PROHIBITED, ALL_PURPOSES, frozenset()),
    "DMI-PROHIBITED-SEECONSTRAINT": _PlusValue(
        Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, frozenset()
    ),
    "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR": _PlusValue(
        Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, frozenset()
    ),
    "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR": _PlusValue(
        Reason.PLUS_PROHIBITED_SEE_TERMS, ALL_PURPOSES, frozenset()
    ),
}

# Training-and-data-mining entries (CAWG 1.x keys and the C2PA 1.x ones), by the part after the
# "cawg." / "c2pa." prefix: the purposes each governs and its three reason codes
# (notAllowed, constrained, allowed).
C2PA_ENTRIES: Mapping[str, tuple[frozenset[Purpose], Reason, Reason, Reason]] = {
    "ai_generative_training": (
        TRAINING,
        Reason.C2PA_TRAINING_NOT_ALLOWED,
        Reason.C2PA_TRAINING_CONSTRAINED,
        Reason.C2PA_TRAINING_ALLOWED,
    ),
    "ai_training": (
        TRAINING,
        Reason.C2PA_TRAINING_NOT_ALLOWED,
        Reason.C2PA_TRAINING_CONSTRAINED,
        Reason.C2PA_TRAINING_ALLOWED,
    ),
    "data_mining": (
        TDM_PURPOSES,
        Reason.C2PA_MINING_NOT_ALLOWED,
        Reason.C2PA_MINING_CONSTRAINED,
        Reason.C2PA_MINING_ALLOWED,
    ),
    "ai_inference": (
        INFERENCE,
        Reason.C2PA_INFERENCE_NOT_ALLOWED,
        Reason.C2PA_INFERENCE_CONSTRAINED,
        Reason.C2PA_INFERENCE_ALLOWED,
    ),
}
# cawg.training-mining (CAWG), c2pa.training-mining (C2PA 1.x), with an optional version suffix
# and the "__N" instance suffix C2PA gives repeated labels.
TRAINING_MINING_LABEL = re.compile(r"^(?:cawg|c2pa)\.training-mining(?:\.v\d+)?(?:__\d+)?$")


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL_CHARS else text[: MAX_DETAIL_CHARS - 3] + "..."


# --- TDMRep values -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TdmStatement:
    """What one carrier (the XMP packet, the package document) says in TDMRep terms."""

    reservation: int | None  # 1, 0, or None (absent or invalid: "unset")
    policy: str | None


def _tdm_value(value: str) -> int | None:
    stripped = value.strip()
    if stripped == "1":
        return 1
    if stripped == "0":
        return 0
    return None


def _tdm_findings(
    carrier: str,
    reservations: list[str],
    policies: list[str],
    codes: tuple[Reason, Reason, Reason],
) -> list[Finding]:
    reserved_code, not_reserved_code, invalid_code = codes
    policy = next((p.strip() for p in policies if p.strip()), None)
    found: list[Finding] = []
    values = [(raw, _tdm_value(raw)) for raw in reservations]
    if any(v == 1 for _, v in values):
        found.append(
            Finding(
                reserved_code,
                reserves=TDM_PURPOSES,
                license=policy,
                detail=f"{carrier} tdm:reservation=1"
                + (f", tdm:policy {policy}" if policy else ""),
            )
        )
    if any(v == 0 for _, v in values):
        # TDMRep: agents SHOULD NOT process tdm-policy when the reservation is 0.
        found.append(
            Finding(not_reserved_code, allows=TDM_PURPOSES, detail=f"{carrier} tdm:reservation=0")
        )
    for raw, value in values:
        if value is None:
            found.append(note(invalid_code, _clip(f"{carrier} tdm:reservation={raw!r}: unset")))
    return found


# --- XMP -----------------------------------------------------------------------------------------


def _split(tag: str) -> tuple[str, str]:
    """``{ns}local`` -> (ns, local); a tag without a namespace has ns ''."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _element_values(element: StdET.Element) -> list[str]:
    """The values of an XMP property element: its text, its rdf:resource, the rdf:li items of an
    rdf:Alt/Bag/Seq, or the rdf:value of a qualified (parseType="Resource") value."""
    resource = element.get(f"{{{RDF}}}resource")
    if resource is not None:
        return [resource]
    values: list[str] = []
    for child in element:
        if child.tag in (f"{{{RDF}}}Alt", f"{{{RDF}}}Bag", f"{{{RDF}}}Seq"):
            for item in child:
                if item.tag == f"{{{RDF}}}li":
                    values.extend(_element_values(item))
        elif child.tag == f"{{{RDF}}}value":
            values.extend(_element_values(child))
        elif child.tag == f"{{{RDF}}}Description":
            inner = child.get(f"{{{RDF}}}value")
            if inner is not None:
                values.append(inner)
            for grandchild in child:
                if grandchild.tag == f"{{{RDF}}}value":
                    values.extend(_element_values(grandchild))
    if not values and len(element) == 0:
        values.append(element.text or "")
    return values


@dataclass(slots=True)
class _XmpFacts:
    reservations: list[str]
    policies: list[str]
    data_mining: list[str]


def _xml_text(text: str) -> str:
    """The text ready for an XML parser: no BOM or leading junk, no XML declaration (a declared
    multi-byte encoding makes a parser of ``str`` input fail), nothing after the last tag."""
    start = text.find("<")
    if start < 0:
        return ""
    text = text[start:]
    if text.startswith("<?xml"):
        end = text.find("?>")
        text = text[end + 2 :] if end >= 0 else text
    return text[: text.rfind(">") + 1]


def _parse_xml(text: str) -> StdET.Element:
    """Parse with defusedxml (no DTDs, no entity expansion, no external resources)."""
    root: StdET.Element = DefusedET.fromstring(
        _xml_text(text), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    return root


def _read_xmp(root: StdET.Element) -> _XmpFacts:
    facts = _XmpFacts([], [], [])
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        # The attribute form: <rdf:Description tdm:reservation="1" .../>
        for name, value in element.attrib.items():
            ns, local = _split(name)
            if ns in TDM_NAMESPACES and local == "reservation":
                facts.reservations.append(value)
            elif ns in TDM_NAMESPACES and local == "policy":
                facts.policies.append(value)
            elif ns in PLUS_NAMESPACES and local == "DataMining":
                facts.data_mining.append(value)
        # The element form: <tdm:reservation>1</tdm:reservation>
        ns, local = _split(element.tag)
        if ns in TDM_NAMESPACES and local == "reservation":
            facts.reservations.extend(_element_values(element))
        elif ns in TDM_NAMESPACES and local == "policy":
            facts.policies.extend(_element_values(element))
        elif ns in PLUS_NAMESPACES and local == "DataMining":
            facts.data_mining.extend(_element_values(element))
    return facts


def _plus_findings(values: list[str], carrier: str) -> list[Finding]:
    found: list[Finding] = []
    for raw in values:
        code = raw.strip()
        for prefix in PLUS_VOCAB_PREFIXES:
            if code.lower().startswith(prefix):
                code = code[len(prefix) :]
                break
        key = code.upper()
        known = PLUS_VALUES.get(key)
        detail = _clip(f"{carrier} plus:DataMining {raw.strip()}")
        if known is not None:
            found.append(
                Finding(known.reason, reserves=known.reserves, allows=known.allows, detail=detail)
            )
        elif key.startswith("DMI-PROHIBITED"):
            # A prohibition we do not know the scope of: read as the broadest one.
            found.append(Finding(Reason.PLUS_PROHIBITED, reserves=ALL_PURPOSES, detail=detail))
        else:
            found.append(note(Reason.PLUS_UNKNOWN, detail))
    return found


class _TolerantScan(HTMLParser):
    """A forgiving pass over markup that is not well-formed XML: collects ``prefix:name``
    attributes and element texts, and ``<meta>`` tags, without namespace resolution."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.attributes: list[tuple[str, str]] = []  # (name lowercased, value)
        self.elements: list[tuple[str, str]] = []  # (tag lowercased, text that follows)
        self.metas: list[tuple[dict[str, str], str]] = []  # (attributes, text that follows)
        self._open: tuple[str, dict[str, str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        self.attributes.extend(values.items())
        self._open = (tag, values)
        if tag == "meta" or tag.endswith(":meta"):
            self.metas.append((values, ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is None:
            return
        tag, values = self._open
        self.elements.append((tag, data))
        if (tag == "meta" or tag.endswith(":meta")) and self.metas and self.metas[-1][0] is values:
            self.metas[-1] = (values, data)
        self._open = None

    def handle_endtag(self, tag: str) -> None:
        self._open = None


def _scan(text: str) -> _TolerantScan:
    scan = _TolerantScan()
    try:
        scan.feed(text[:MAX_SCAN_CHARS])
        scan.close()
    except Exception:  # noqa: S110 - a tolerant scan keeps whatever it read before the fault
        pass
    return scan


def _restrictive_only(found: Iterable[Finding]) -> list[Finding]:
    """From a scan of broken markup only reservations count: it never lifts or allows."""
    return [
        Finding(f.reason, reserves=f.reserves, license=f.license, detail=f"{f.detail} (text scan)")
        for f in found
        if f.reserves
    ]


def _xmp_findings(xmp: str) -> list[Finding]:
    codes = (Reason.XMP_TDM_RESERVED, Reason.XMP_TDM_NOT_RESERVED, Reason.XMP_TDM_INVALID)
    problem: str | None = None
    facts: _XmpFacts | None = None
    if len(xmp) > MAX_XML_CHARS:
        problem = f"XMP packet of {len(xmp)} characters is larger than {MAX_XML_CHARS}"
    else:
        try:
            facts = _read_xmp(_parse_xml(xmp))
        except Exception as exc:  # defusedxml's refusals, expat errors, anything
            problem = _clip(f"XMP packet is not well-formed XML: {type(exc).__name__}: {exc}")
    if facts is not None:
        return [
            *_tdm_findings("XMP", facts.reservations, facts.policies, codes),
            *_plus_findings(facts.data_mining, "XMP"),
        ]
    scan = _scan(xmp)
    reservations = [v for k, v in scan.attributes if k == "tdm:reservation"]
    reservations += [v for k, v in scan.elements if k == "tdm:reservation"]
    policies = [v for k, v in scan.attributes if k == "tdm:policy"]
    policies += [v for k, v in scan.elements if k == "tdm:policy"]
    mining = [v for k, v in scan.attributes if k in ("plus:datamining", "rdf:resource")]
    mining += [v for k, v in scan.elements if k in ("plus:datamining", "rdf:li")]
    mining = [v for v in mining if "DMI-" in v.upper()]
    recovered = _restrictive_only(
        [
            *_tdm_findings("XMP", reservations, policies, codes),
            *_plus_findings(mining, "XMP"),
        ]
    )
    return [note(Reason.UNREADABLE, problem), *recovered]


# --- EPUB package document -----------------------------------------------------------------------


def _opf_prefixes(root: StdET.Element) -> set[str]:
    """Prefixes the package's ``prefix`` attribute binds to a TDMRep namespace, plus ``tdm``
    (the spec's prefix, read even when the document forgets to declare it)."""
    prefixes = {"tdm"}
    declared = root.get("prefix") or ""
    tokens = declared.split()
    for name, uri in itertools.pairwise(tokens):
        if name.endswith(":") and uri in TDM_NAMESPACES:
            prefixes.add(name[:-1])
    return prefixes


def _tdm_property(name: str, prefixes: set[str]) -> str | None:
    """``reservation`` / ``policy`` for a TDMRep property name (EPUB 3 ``tdm:reservation``,
    EPUB 2 the same in ``name``, an early draft's ``tdm-reservation``); None otherwise."""
    name = name.strip()
    prefix, sep, local = name.partition(":")
    if sep and prefix in prefixes and local in ("reservation", "policy"):
        return local
    if name in ("tdm-reservation", "tdm-policy"):
        return name[4:]
    return None


def _opf_findings(opf: str) -> list[Finding]:
    codes = (Reason.EPUB_TDM_RESERVED, Reason.EPUB_TDM_NOT_RESERVED, Reason.EPUB_TDM_INVALID)
    values: dict[str, list[str]] = {"reservation": [], "policy": []}
    problem: str | None = None
    root: StdET.Element | None = None
    if len(opf) > MAX_XML_CHARS:
        problem = f"package document of {len(opf)} characters is larger than {MAX_XML_CHARS}"
    else:
        try:
            root = _parse_xml(opf)
        except Exception as exc:
            problem = _clip(f"package document is not well-formed XML: {type(exc).__name__}: {exc}")
    if root is not None:
        prefixes = _opf_prefixes(root)
        for element in root.iter():
            if not isinstance(element.tag, str) or _split(element.tag)[1] != "meta":
                continue
            epub3 = _tdm_property(element.get("property") or "", prefixes)
            if epub3 is not None:
                values[epub3].append(element.text or "")
            epub2 = _tdm_property(element.get("name") or "", prefixes)
            if epub2 is not None:
                values[epub2].append(element.get("content") or "")
        return _tdm_findings("package document", values["reservation"], values["policy"], codes)
    scan = _scan(opf)
    for attributes, text in scan.metas:
        epub3 = _tdm_property(attributes.get("property", ""), {"tdm"})
        if epub3 is not None:
            values[epub3].append(text)
        epub2 = _tdm_property(attributes.get("name", ""), {"tdm"})
        if epub2 is not None:
            values[epub2].append(attributes.get("content", ""))
    recovered = _restrictive_only(
        _tdm_findings("package document", values["reservation"], values["policy"], codes)
    )
    return [note(Reason.UNREADABLE, problem), *recovered]


# --- C2PA / CAWG ---------------------------------------------------------------------------------


def _c2pa_entry(key: str, entry: object, label: str) -> list[Finding]:
    prefix, _, name = key.partition(".")
    known = C2PA_ENTRIES.get(name) if prefix in ("cawg", "c2pa") else None
    if known is None:
        return [note(Reason.C2PA_UNKNOWN, _clip(f"{label}: entry {key!r}"))]
    purposes, not_allowed, constrained, allowed = known
    if not isinstance(entry, Mapping):
        return [note(Reason.C2PA_UNREADABLE, _clip(f"{label}: entry {key!r} is not a map"))]
    use = entry.get("use")
    use_text = use.strip().lower() if isinstance(use, str) else None
    # CAWG's prose says constraints_info, its CDDL constraint_info: either is read.
    info = entry.get("constraint_info", entry.get("constraints_info"))
    info_text = info.strip() if isinstance(info, str) and info.strip() else None
    if use_text == "notallowed":
        return [Finding(not_allowed, reserves=purposes, detail=f"{label}: {key} notAllowed")]
    if use_text == "constrained":
        # constrained = "not unconditionally granted"; its terms are free text we cannot
        # evaluate, so it reserves, with or without constraint_info (which may be a URL).
        license_url = info_text if info_text and re.match(r"https?://\S+$", info_text) else None
        detail = f"{label}: {key} constrained" + (f" ({info_text})" if info_text else "")
        return [Finding(constrained, reserves=purposes, license=license_url, detail=_clip(detail))]
    if use_text == "allowed":
        return [Finding(allowed, allows=purposes, detail=f"{label}: {key} allowed")]
    return [note(Reason.C2PA_UNKNOWN, _clip(f"{label}: {key} use={use!r}"))]


def _c2pa_findings(assertions: Iterable[Mapping[str, object]]) -> list[Finding]:
    found: list[Finding] = []
    for index, assertion in enumerate(assertions):
        if index >= MAX_C2PA_ASSERTIONS:
            break
        if not isinstance(assertion, Mapping):
            found.append(note(Reason.C2PA_UNREADABLE, "an assertion that is not a map"))
            continue
        label = assertion.get("label")
        if not isinstance(label, str) or not TRAINING_MINING_LABEL.match(label):
            continue  # other assertions (actions, thumbnails) say nothing about mining
        data = assertion.get("data")
        # The CAWG CDDL puts entries at the top level; the C2PA 1.x form and c2pa-rs's JSON wrap
        # them in "entries".
        if isinstance(data, Mapping) and isinstance(data.get("entries"), Mapping):
            data = data["entries"]
        if not isinstance(data, Mapping):
            found.append(note(Reason.C2PA_UNREADABLE, f"{label}: data is not a map of entries"))
            continue
        for key in sorted(k for k in data if isinstance(k, str)):
            if key == "metadata":  # assertion metadata, not a use
                continue
            found.extend(_c2pa_entry(key, data[key], label))
    return found


# --- the check -----------------------------------------------------------------------------------


def read_tdm(metadata: EmbeddedMetadata) -> TdmStatement:
    """The TDMRep reading of the embedded carriers (for the self-check's ``tdm`` answer):
    reservation 1 if any says 1, else 0 if any says 0, else None; the policy of a reserving one."""
    findings: list[Finding] = []
    if metadata.xmp:
        findings += _xmp_findings(metadata.xmp)
    if metadata.package_opf:
        findings += _opf_findings(metadata.package_opf)
    reserved = (Reason.XMP_TDM_RESERVED, Reason.EPUB_TDM_RESERVED)
    not_reserved = (Reason.XMP_TDM_NOT_RESERVED, Reason.EPUB_TDM_NOT_RESERVED)
    if any(f.reason in reserved for f in findings):
        policy = next((f.license for f in findings if f.reason in reserved and f.license), None)
        return TdmStatement(1, policy)
    if any(f.reason in not_reserved for f in findings):
        return TdmStatement(0, None)
    return TdmStatement(None, None)


def embedded_findings(metadata: EmbeddedMetadata) -> tuple[Finding, ...]:
    """Every finding of one asset's embedded metadata, in a fixed order, without repeats."""
    found: list[Finding] = []
    if metadata.xmp:
        found += _xmp_findings(metadata.xmp)
    if metadata.package_opf:
        found += _opf_findings(metadata.package_opf)
    found += _c2pa_findings(metadata.c2pa)
    errors = list(dict.fromkeys(e for e in metadata.errors if isinstance(e, str)))
    found += [note(Reason.EXTRACT_ERROR, _clip(e)) for e in errors[:MAX_ERROR_NOTES]]
    return tuple(dict.fromkeys(found))


class EmbeddedMetadataCheck(NoLinks):
    """Asset check: TDMRep XMP/OPF properties, IPTC PLUS data mining, CAWG/C2PA assertions."""

    name = "embedded"

    def check(self, asset: Asset) -> Iterator[Finding]:
        if asset.metadata is None:
            return
        try:
            yield from embedded_findings(asset.metadata)
        except Exception as exc:  # the readings above never raise; this keeps the promise
            yield note(Reason.UNREADABLE, _clip(f"{type(exc).__name__}: {exc}"))


SIGNAL = SignalInfo(
    name="Embedded metadata: TDMRep XMP/EPUB, IPTC PLUS Data Mining, CAWG training-mining",
    where=(
        "after the fetch, in what the crawler extracted from a PDF (XMP of the catalog's "
        "/Metadata), an EPUB (the package document named by META-INF/container.xml) or an "
        "image (its XMP packet, its active C2PA manifest); the self-check's xmp and package_opf"
    ),
    source=(
        "W3C TDMRep CG final report, sections 'TDM Metadata in PDF files' and 'TDM Metadata in "
        "EPUB 2/3 files' (https://www.w3.org/2022/tdmrep/); PLUS LDF plus:DataMining "
        "(http://ns.useplus.org/LDF/ldf-XMPSpecification#DataMining, IPTC Photo Metadata "
        "Standard 2023.1, https://iptc.org/std/photometadata/specification/); CAWG Training and "
        "Data Mining assertion (https://cawg.io/training-and-data-mining/) and the earlier "
        "c2pa.training-mining of the C2PA 1.x specification"
    ),
    reasons={
        Reason.XMP_TDM_RESERVED: "XMP tdm:reservation is 1: TDM reserved (tdm:policy: licence)",
        Reason.XMP_TDM_NOT_RESERVED: "XMP tdm:reservation is 0: TDM explicitly not reserved",
        Reason.XMP_TDM_INVALID: "XMP tdm:reservation has another value: unset (a note)",
        Reason.EPUB_TDM_RESERVED: "EPUB package document tdm:reservation is 1: TDM reserved",
        Reason.EPUB_TDM_NOT_RESERVED: "EPUB package document tdm:reservation is 0",
        Reason.EPUB_TDM_INVALID: "EPUB tdm:reservation has another value: unset (a note)",
        Reason.PLUS_PROHIBITED: "plus:DataMining DMI-PROHIBITED (or an unknown DMI-PROHIBITED-*)",
        Reason.PLUS_AI_TRAINING_PROHIBITED: "plus:DataMining DMI-PROHIBITED-AIMLTRAINING",
        Reason.PLUS_GENAI_TRAINING_PROHIBITED: "plus:DataMining DMI-PROHIBITED-GENAIMLTRAINING",
        Reason.PLUS_PROHIBITED_EXCEPT_SEARCH: (
            "plus:DataMining DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING"
        ),
        Reason.PLUS_PROHIBITED_SEE_TERMS: (
            "plus:DataMining DMI-PROHIBITED-SEECONSTRAINT / -SEEEMBEDDEDRIGHTSEXPR / "
            "-SEELINKEDRIGHTSEXPR: prohibited, terms elsewhere"
        ),
        Reason.PLUS_ALLOWED: "plus:DataMining DMI-ALLOWED",
        Reason.PLUS_UNSPECIFIED: "plus:DataMining DMI-UNSPECIFIED: no statement (a note)",
        Reason.PLUS_UNKNOWN: "plus:DataMining value outside the vocabulary (a note)",
        Reason.C2PA_TRAINING_NOT_ALLOWED: "ai_training or ai_generative_training is notAllowed",
        Reason.C2PA_TRAINING_CONSTRAINED: "ai_training or ai_generative_training is constrained",
        Reason.C2PA_TRAINING_ALLOWED: "ai_training or ai_generative_training is allowed",
        Reason.C2PA_MINING_NOT_ALLOWED: "data_mining is notAllowed",
        Reason.C2PA_MINING_CONSTRAINED: "data_mining is constrained",
        Reason.C2PA_MINING_ALLOWED: "data_mining is allowed",
        Reason.C2PA_INFERENCE_NOT_ALLOWED: "ai_inference is notAllowed",
        Reason.C2PA_INFERENCE_CONSTRAINED: "ai_inference is constrained",
        Reason.C2PA_INFERENCE_ALLOWED: "ai_inference is allowed",
        Reason.C2PA_UNKNOWN: "a custom training-mining entry or an unknown use value (a note)",
        Reason.C2PA_UNREADABLE: "a training-mining assertion that is not a map of entries (a note)",
        Reason.UNREADABLE: "XMP or package document not well-formed or too large (a note)",
        Reason.EXTRACT_ERROR: "the crawler could not read part of the asset's metadata (a note)",
    },
    purposes=(
        "TDMRep 1 reserves train-ai and ai-input (0 allows them); DMI-PROHIBITED and "
        "DMI-PROHIBITED-SEE* reserve every purpose; -AIMLTRAINING and -GENAIMLTRAINING reserve "
        "train-ai; -EXCEPTSEARCHENGINEINDEXING reserves train-ai and ai-input and allows search; "
        "DMI-ALLOWED allows every purpose; C2PA ai_training and ai_generative_training govern "
        "train-ai, ai_inference ai-input, data_mining train-ai and ai-input"
    ),
    reading=(
        "TDM is read as covering AI training and AI input, not search indexing. Every TDMRep "
        "namespace form (.../tdmrep/, ...tdmrep#, the draft's .../tdmrep/xml) and the undeclared "
        "tdm: prefix are read. Several values: any reservation wins over any permission, within "
        "this check and across checks (TDMRep's 'in-content supersedes' order is not used to lift "
        "a reservation made elsewhere). C2PA 'constrained' reserves even with constraint_info "
        "(free-text terms we cannot evaluate; a URL there is offered as the licence). A C2PA "
        "assertion is read whatever the validation state of its manifest (a self-signed or "
        "untrusted signer still states the creator's wish). An unknown DMI-PROHIBITED-* value "
        "reserves every purpose. An XMP packet or package document that is not well-formed is "
        "noted and scanned tolerantly for reservations only, never for permissions."
    ),
)
