"""TDMRep: the tdmrep.json file, the header fields and the meta tags.

Cases marked "spec" come from the TDM Reservation Protocol, W3C Community Group final report
(https://www.w3.org/2022/tdmrep/, source https://github.com/w3c/tdm-reservation-protocol,
spec/index.html); the section is named next to each. The other cases are our own edge cases and
the readings chosen where the specification leaves room (``SIGNALS[...].reading``).
"""

from __future__ import annotations

import codecs
import json
import time
from collections.abc import Iterable, Sequence

import pytest

from optout_service.checks.base import Asset, Document, Finding, Site
from optout_service.checks.tdmrep import (
    KIND,
    MAX_BODY_BYTES,
    MAX_ENTRIES,
    SIGNALS,
    TDM_PURPOSES,
    WELL_KNOWN_PATH,
    TdmRepAssetCheck,
    TdmRepFile,
    TdmRepReason,
    TdmRepSiteCheck,
    parse_tdmrep,
    tdm_reading,
)
from optout_service.outcomes import FetchOutcome, outcome_for_status
from optout_service.purposes import ALL_PURPOSES, Purpose
from optout_service.reasons import Reason

ORIGIN = "https://provider.com"
FILE_URL = ORIGIN + WELL_KNOWN_PATH
POLICY = "https://provider.com/policies/policy.json"
R = TdmRepReason


# ---------------------------------------------------------------------------------------------
# Helpers


def parsed(body: bytes | str, status: int = 200) -> TdmRepFile:
    raw = body.encode() if isinstance(body, str) else body
    return parse_tdmrep(outcome_for_status(status), raw, status)


def rules(entries: object) -> TdmRepFile:
    return parsed(json.dumps(entries))


def site_of(file: TdmRepFile | None) -> Site:
    documents = {}
    if file is not None:
        documents[KIND] = Document(KIND, FILE_URL, file.outcome, file.status, parsed=file)
    return Site(ORIGIN, "ExampleBot", frozenset({Purpose.TRAIN_AI}), documents)


def site_findings(file: TdmRepFile | None, path_query: str) -> tuple[Finding, ...]:
    return tuple(TdmRepSiteCheck().check(site_of(file), path_query))


def asset_of(
    headers: Sequence[tuple[str, str]] = (), html: str | None = None, url: str = ORIGIN + "/a"
) -> Asset:
    return Asset(
        url=url,
        final_url=url,
        status=200,
        headers=headers,
        content_type="text/html" if html is not None else "image/jpeg",
        html=html,
        token="ExampleBot",
        purposes=frozenset({Purpose.TRAIN_AI}),
    )


def page(*metas: tuple[str, str], attribute: str = "name") -> str:
    tags = "".join(f'<meta {attribute}="{name}" content="{content}">' for name, content in metas)
    return f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{tags}</head></html>'


def asset_findings(asset: Asset) -> tuple[Finding, ...]:
    return tuple(TdmRepAssetCheck().check(asset))


def reasons(findings: Iterable[Finding]) -> list[str]:
    return [f.reason for f in findings]


def reservation(file: TdmRepFile, path_query: str) -> int | None:
    return file.match(path_query).reservation


def deciding(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.reserves or f.allows]


# ---------------------------------------------------------------------------------------------
# tdm-reservation values (spec, section "tdm-reservation")

VALUES = [
    # spec: 1 = TDM rights are reserved
    (1, 1),
    # spec: 0 = TDM rights are not reserved
    (0, 0),
    # spec: "Other values are considered protocol errors ... tdm-reservation is unset"
    (2, None),
    (-1, None),
    ("yes", None),
    (None, None),
    ([1], None),
    ({"value": 1}, None),
    # ours: a 1 in another JSON type is read as a reservation (the stricter reading)...
    ("1", 1),
    (" 1 ", 1),
    (1.0, 1),
    (True, 1),
    # ...the same spellings of 0 are not read as a permission
    ("0", None),
    (0.0, None),
    (False, None),
]


@pytest.mark.parametrize(("value", "expected"), VALUES)
def test_tdm_reservation_values(value: object, expected: int | None) -> None:
    file = rules([{"location": "/", "tdm-reservation": value}])
    assert reservation(file, "/page") == expected


def test_missing_tdm_reservation_is_unset() -> None:
    # spec, "TDM File on the Origin Server": location and tdm-reservation are mandatory
    file = rules([{"location": "/", "tdm-policy": POLICY}])
    assert reservation(file, "/x") is None
    found = site_findings(file, "/x")
    assert not deciding(found)
    assert R.INVALID_VALUE in reasons(found)


# ---------------------------------------------------------------------------------------------
# File examples (spec, section "TDM File on the Origin Server", Examples)

# spec, first example: opt-out for every file on the server
EXAMPLE_1 = '[\n  {\n  "location": "/",\n  "tdm-reservation": 1\n  }\n]'

# spec, second example: three groups of files
EXAMPLE_2 = json.dumps(
    [
        {"location": "/directory-a/", "tdm-reservation": 1},
        {"location": "/directory-b/html/", "tdm-reservation": 1, "tdm-policy": POLICY},
        {"location": "/directory-b/images/*.jpg", "tdm-reservation": 0},
    ]
)


@pytest.mark.parametrize("path", ["/", "/index.html", "/a/b/c.pdf", "/x?y=1", "/%7Euser"])
def test_spec_example_1_reserves_everything(path: str) -> None:
    found = site_findings(parsed(EXAMPLE_1), path)
    assert reasons(found) == [R.RESERVED]
    assert found[0].reserves == TDM_PURPOSES
    assert found[0].license is None  # "the provider has decided not to offer a TDM policy"


EXAMPLE_2_CASES = [
    # (path, reservation, policy)
    ("/directory-a/report.pdf", 1, None),  # group 1: reserved, no way to get a licence
    ("/directory-a/sub/deep.pdf", 1, None),
    ("/directory-b/html/page.html", 1, POLICY),  # group 2: reserved with a TDM policy
    ("/directory-b/images/photo.jpg", 0, None),  # group 3: JPEG images not reserved
    ("/directory-b/images/2021/photo.jpg", 0, None),  # "*": 0 or more of any character
    ("/directory-b/images/photo.jpg.html", 0, None),  # no "$": a prefix match
    ("/directory-b/images/photo.png", None, None),  # no rule: unset
    ("/directory-b/other.html", None, None),
    ("/directory-a", None, None),  # the pattern's trailing "/" is not reached
    ("/Directory-a/report.pdf", None, None),  # matching is case-sensitive
    ("/", None, None),
]


@pytest.mark.parametrize(("path", "expected", "policy"), EXAMPLE_2_CASES)
def test_spec_example_2(path: str, expected: int | None, policy: str | None) -> None:
    file = parsed(EXAMPLE_2)
    assert reservation(file, path) == expected
    found = site_findings(file, path)
    if expected == 1:
        assert reasons(found) == [R.RESERVED]
        assert found[0].reserves == TDM_PURPOSES
        assert found[0].license == policy
    elif expected == 0:
        assert reasons(found) == [R.NOT_RESERVED]
        assert found[0].allows == TDM_PURPOSES
        assert not found[0].reserves
        assert found[0].license is None
    else:
        assert found == ()  # unset: no statement at all
    reading = tdm_reading(site_of(file), None, path)
    assert (reading.reservation, reading.policy) == (expected, policy)


# ---------------------------------------------------------------------------------------------
# Location matching (spec, "TDM File on the Origin Server" and "Use of regular expressions")

MATCHING = [
    # spec, special characters table: "$" designates the end of the match pattern
    ("/this/path/exactly$", "/this/path/exactly", True),
    ("/this/path/exactly$", "/this/path/exactly/more", False),
    ("/this/path/exactly$", "/this/path/exactl", False),
    # spec, special characters table: "*" designates 0 or more instances of any character
    ("/this/*/then", "/this/that/then", True),
    ("/this/*/then", "/this/that/and/more/then", True),
    ("/this/*/then", "/this//then", True),
    ("/this/*/then", "/this/then", False),
    ("/this/*/then", "/this/that/then/after", True),  # no "$": a prefix
    # spec: "The match evaluates positively if and only if the end of the path from the rule
    # is reached before a difference in octets is encountered" (a prefix match)
    ("/fish", "/fish", True),
    ("/fish", "/fish.html", True),
    ("/fish", "/fish/salmon.html", True),
    ("/fish", "/fishheads", True),
    ("/fish", "/catfish", False),
    # spec: "The matching SHOULD be case sensitive"
    ("/fish", "/Fish.asp", False),
    ("/Fish", "/fish", False),
    # spec: special characters matched verbatim are written with "%" encoding
    ("/path/foo-%24", "/path/foo-$", True),
    ("/path/foo-%24", "/path/foo-%24", True),
    ("/a%2Ab", "/a*b", True),
    ("/a%2Ab", "/axb", False),
    # spec: a percent-encoded unreserved US-ASCII character is unencoded before comparison...
    ("/%7Euser/", "/~user/index.html", True),
    ("/~user/", "/%7euser/index.html", True),
    ("/%41bc", "/Abc", True),
    # ...but not a reserved character
    ("/a%2Fb", "/a/b", False),
    ("/a%2fb", "/a%2Fb", True),  # escapes compare case-insensitively in their hex digits
    ("/a%3Fb", "/a?b", False),
    # ours: a "$" that is not last is an ordinary character
    ("/a$b", "/a$b/c", True),
    # ours: "*" and "$" combined, repeated "*"
    ("/*.pdf$", "/docs/a.pdf", True),
    ("/*.pdf$", "/docs/a.pdf.html", False),
    ("/**/x", "/a/b/x", True),
    ("*", "/anything", True),
    ("*.jpg", "/img/a.jpg", True),
    # ours: non-ASCII in a pattern is compared as its UTF-8 escapes
    ("/café/", "/caf%C3%A9/menu", True),
    ("/caf%c3%a9/", "/caf%C3%A9/menu", True),
]


@pytest.mark.parametrize(("location", "path", "matches"), MATCHING)
def test_location_matching(location: str, path: str, matches: bool) -> None:
    file = rules([{"location": location, "tdm-reservation": 1}])
    assert reservation(file, path) == (1 if matches else None)


def test_first_match_wins_not_the_longest() -> None:
    # spec: "The most specific match found MUST be used. The most specific match is the first
    # in sequence."
    file = rules(
        [
            {"location": "/", "tdm-reservation": 0},
            {"location": "/private/", "tdm-reservation": 1},
        ]
    )
    assert reservation(file, "/private/x") == 0
    found = site_findings(file, "/private/x")
    assert reasons(found) == [R.NOT_RESERVED]
    assert "entry 1" in (found[0].detail or "")
    reverse = rules(
        [
            {"location": "/private/", "tdm-reservation": 1},
            {"location": "/", "tdm-reservation": 0},
        ]
    )
    assert reservation(reverse, "/private/x") == 1
    assert reservation(reverse, "/public") == 0


def test_no_match_is_unset() -> None:
    # spec: "If no match is found, a TDM Agent MUST consider that tdm-reservation is unset"
    file = rules([{"location": "/a/", "tdm-reservation": 1}])
    assert file.match("/b").rule is None
    assert site_findings(file, "/b") == ()
    assert tdm_reading(site_of(file), None, "/b").reservation is None


QUERY_CASES = [
    # ours: the URL is matched with and without its query; the more restrictive reading wins
    ([{"location": "/*.jpg$", "tdm-reservation": 1}], "/a.jpg?size=2", 1),
    (
        [{"location": "/*.jpg$", "tdm-reservation": 0}, {"location": "/", "tdm-reservation": 1}],
        "/a.jpg?size=2",
        1,
    ),
    ([{"location": "/search?q=", "tdm-reservation": 1}], "/search?q=cats", 1),
    ([{"location": "/search?q=", "tdm-reservation": 1}], "/search", None),
    (
        [{"location": "/*?print", "tdm-reservation": 0}, {"location": "/", "tdm-reservation": 1}],
        "/a?print=1",
        1,
    ),
    ([{"location": "/*.jpg$", "tdm-reservation": 0}], "/a.jpg?size=2", None),
    ([{"location": "/*.jpg$", "tdm-reservation": 0}], "/a.jpg", 0),
]


@pytest.mark.parametrize(("entries", "path", "expected"), QUERY_CASES)
def test_query_strings(entries: object, path: str, expected: int | None) -> None:
    assert reservation(rules(entries), path) == expected


# ---------------------------------------------------------------------------------------------
# Invalid entries and locations


def test_invalid_value_is_skipped_so_a_later_reservation_applies() -> None:
    file = rules(
        [{"location": "/a/", "tdm-reservation": 2}, {"location": "/", "tdm-reservation": 1}]
    )
    found = site_findings(file, "/a/x")
    assert reasons(deciding(found)) == [R.RESERVED]
    assert R.INVALID_VALUE in reasons(found)


def test_a_zero_after_an_invalid_matching_entry_is_unset() -> None:
    file = rules(
        [{"location": "/a/", "tdm-reservation": "0"}, {"location": "/", "tdm-reservation": 0}]
    )
    assert reservation(file, "/a/x") is None
    found = site_findings(file, "/a/x")
    assert not deciding(found)
    assert R.INVALID_VALUE in reasons(found)
    assert reservation(file, "/b") == 0  # the invalid entry does not match there


ENTRY_PROBLEMS = [
    # entries missing a location, or with one we cannot read, are ignored
    [{"tdm-reservation": 1}],
    [{"location": 17, "tdm-reservation": 1}],
    [{"location": ["/"], "tdm-reservation": 1}],
    [{"location": "", "tdm-reservation": 1}],
    [{"location": "   ", "tdm-reservation": 1}],
    [{"location": "/" + "a" * 5000, "tdm-reservation": 1}],
    ["/", 1],
    [[{"location": "/", "tdm-reservation": 1}]],
    [None],
]


@pytest.mark.parametrize("entries", ENTRY_PROBLEMS)
def test_unreadable_entries_are_ignored_with_a_note(entries: object) -> None:
    file = rules(entries)
    assert file.rules == ()
    found = site_findings(file, "/")
    assert reasons(found) == [R.MALFORMED]


def test_unreadable_entry_does_not_hide_the_next_one() -> None:
    file = rules([{"tdm-reservation": 0}, "junk", {"location": "/", "tdm-reservation": 1}])
    found = site_findings(file, "/x")
    assert reasons(found) == [R.MALFORMED, R.RESERVED]
    assert "entry 3" in (found[1].detail or "")


LOCATION_FORMS = [
    # ours: an absolute URL where a path belongs is read as its path (and query)
    ("https://provider.com/private/", "/private/x", 1),
    ("https://provider.com/private/", "/public", None),
    ("https://provider.com", "/anything", 1),
    ("//provider.com/p/", "/p/1", 1),
    # ours: a location without the leading "/" gets one
    ("private/", "/private/x", 1),
    ("private/", "/other/private/x", None),
    # surrounding whitespace is not part of the pattern
    ("  /private/ ", "/private/x", 1),
]


@pytest.mark.parametrize(("location", "path", "expected"), LOCATION_FORMS)
def test_location_forms(location: str, path: str, expected: int | None) -> None:
    file = rules([{"location": location, "tdm-reservation": 1}])
    assert reservation(file, path) == expected


def test_member_names_are_read_case_insensitively() -> None:
    file = parsed('[{"Location": "/", "TDM-Reservation": 1, "TDM-Policy": "/p.json"}]')
    assert reservation(file, "/x") == 1
    assert site_findings(file, "/x")[0].license == ORIGIN + "/p.json"


# ---------------------------------------------------------------------------------------------
# Duplicate keys (JSON leaves them undefined: ours)


def test_duplicate_tdm_reservation_any_one_reserves() -> None:
    file = parsed('[{"location": "/", "tdm-reservation": 0, "tdm-reservation": 1}]')
    assert reservation(file, "/x") == 1
    file = parsed('[{"location": "/", "tdm-reservation": 1, "tdm-reservation": 0}]')
    assert reservation(file, "/x") == 1
    file = parsed('[{"location": "/", "tdm-reservation": 0, "tdm-reservation": 0}]')
    assert reservation(file, "/x") == 0
    file = parsed('[{"location": "/", "tdm-reservation": 0, "tdm-reservation": 7}]')
    assert reservation(file, "/x") is None


def test_duplicate_location_reserves_every_location_named() -> None:
    file = parsed('[{"location": "/a/", "location": "/b/", "tdm-reservation": 1}]')
    assert reservation(file, "/a/1") == 1
    assert reservation(file, "/b/1") == 1
    assert reservation(file, "/c/1") is None


def test_duplicate_location_with_zero_is_unset() -> None:
    file = parsed('[{"location": "/a/", "location": "/b/", "tdm-reservation": 0}]')
    assert reservation(file, "/a/1") is None
    assert reservation(file, "/b/1") is None
    assert file.problems


def test_duplicate_policy_first_readable_one() -> None:
    file = parsed(
        '[{"location": "/", "tdm-reservation": 1, "tdm-policy": 5, "tdm-policy": "/one",'
        ' "tdm-policy": "/two"}]'
    )
    assert site_findings(file, "/x")[-1].license == ORIGIN + "/one"


# ---------------------------------------------------------------------------------------------
# tdm-policy


def test_policy_next_to_zero_is_not_used() -> None:
    # spec, "tdm-policy" note: tdm-policy with tdm-reservation 0 is no protocol error, but
    # TDM Agents SHOULD NOT process it
    file = rules([{"location": "/", "tdm-reservation": 0, "tdm-policy": POLICY}])
    found = site_findings(file, "/x")
    assert reasons(found) == [R.NOT_RESERVED]
    assert found[0].license is None
    assert tdm_reading(site_of(file), None, "/x").policy is None


POLICIES = [
    (POLICY, POLICY),
    ("/policies/tdm.json", ORIGIN + "/policies/tdm.json"),  # relative: against the file's URL
    ("policy.json", ORIGIN + "/.well-known/policy.json"),
    ("javascript:alert(1)", None),
    ("mailto:rights@provider.com", None),
    ("data:text/plain,x", None),
    ("http://", None),
    ("", None),
    ("https://other.example/p" + "x" * 3000, None),  # longer than MAX_POLICY_CHARS
]


@pytest.mark.parametrize(("policy", "expected"), POLICIES)
def test_policy_urls(policy: str, expected: str | None) -> None:
    file = rules([{"location": "/", "tdm-reservation": 1, "tdm-policy": policy}])
    found = deciding(site_findings(file, "/x"))
    assert reasons(found) == [R.RESERVED]  # a bad policy never drops the reservation
    assert found[0].license == expected


# ---------------------------------------------------------------------------------------------
# Fail-closed rule of the kind

STATUSES = [
    # (status, expected reasons); 2xx parse the body (here: EXAMPLE_1)
    (200, [R.RESERVED]),
    (203, [R.RESERVED]),
    # 4xx: no file, no statement
    (400, []),
    (401, []),
    (403, []),
    (404, []),
    (410, []),
    (451, []),
    # 429 and 5xx: refused (fail closed)
    (429, [R.UNREACHABLE]),
    (500, [R.UNREACHABLE]),
    (502, [R.UNREACHABLE]),
    (503, [R.UNREACHABLE]),
    (599, [R.UNREACHABLE]),
]


@pytest.mark.parametrize(("status", "expected"), STATUSES)
def test_status_policy(status: int, expected: list[str]) -> None:
    found = site_findings(parsed(EXAMPLE_1, status), "/x")
    assert reasons(found) == expected
    if expected == [R.UNREACHABLE]:
        assert found[0].refusal
        assert found[0].reserves == ALL_PURPOSES
        assert str(status) in (found[0].detail or "")


@pytest.mark.parametrize(
    "outcome",
    [
        FetchOutcome.TIMEOUT,
        FetchOutcome.NETWORK_ERROR,
        FetchOutcome.TOO_MANY_REDIRECTS,
        FetchOutcome.BLOCKED_ADDRESS,
        FetchOutcome.SERVER_ERROR,
    ],
)
def test_fetch_failures_refuse(outcome: FetchOutcome) -> None:
    found = site_findings(parse_tdmrep(outcome, None, None), "/x")
    assert reasons(found) == [R.UNREACHABLE]
    assert found[0].refusal
    assert outcome.value in (found[0].detail or "")


def test_429_is_refused_even_when_reported_as_client_error() -> None:
    found = site_findings(parse_tdmrep(FetchOutcome.CLIENT_ERROR, None, 429), "/x")
    assert reasons(found) == [R.UNREACHABLE]


def test_no_document_means_no_statement() -> None:
    assert site_findings(None, "/x") == ()
    assert tdm_reading(site_of(None), None, "/x").reservation is None


def test_document_of_another_shape_is_read_from_its_outcome() -> None:
    broken = Document(KIND, FILE_URL, FetchOutcome.OK, 200, parsed="not parsed")
    site = Site(ORIGIN, "ExampleBot", frozenset({Purpose.TRAIN_AI}), {KIND: broken})
    assert reasons(TdmRepSiteCheck().check(site, "/x")) == [R.MALFORMED]
    failed = Document(KIND, FILE_URL, FetchOutcome.TIMEOUT, None, parsed=None)
    site = Site(ORIGIN, "ExampleBot", frozenset({Purpose.TRAIN_AI}), {KIND: failed})
    assert reasons(TdmRepSiteCheck().check(site, "/x")) == [R.UNREACHABLE]


# ---------------------------------------------------------------------------------------------
# Malformed bodies: a 200 that is no valid file states nothing (a note)

MALFORMED = [
    b"",
    b"   \n\t ",
    b"<!DOCTYPE html><html><body>Page not found</body></html>",  # a soft 404
    b"\x00\x01\x02\xff\xfe\xfd binary",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"null",
    b"42",
    b'"location"',
    b"true",
    b'{"rules": [{"location": "/", "tdm-reservation": 1}]}',  # another shape of object
    b"{not json",
    b"[{'location': '/', 'tdm-reservation': 1}]",  # single quotes: not JSON
    b"[" * 100_000,  # nesting deeper than any parser's stack
    b"[{" * 50_000,
    b'[{"location": "/", "tdm-reservation": 1' + b"9" * 5000 + b"}]",  # a 5000-digit number
]


@pytest.mark.parametrize("body", MALFORMED)
def test_malformed_bodies_state_nothing(body: bytes) -> None:
    file = parsed(body)
    assert file.rules == ()
    found = site_findings(file, "/x")
    assert reasons(found) == [R.MALFORMED]
    assert not found[0].reserves
    assert not found[0].allows
    assert file.estimated_bytes() > 0


def test_empty_array_is_valid_and_states_nothing() -> None:
    assert site_findings(parsed("[]"), "/x") == ()
    assert site_findings(parsed(" [ ] \n"), "/x") == ()


def test_object_instead_of_array_is_read_as_one_rule() -> None:
    # spec, example note: the brackets are mandatory even for one rule; a lone rule object is
    # nonetheless read as the rule it plainly is (ours), with a note
    found = site_findings(parsed('{"location": "/", "tdm-reservation": 1}'), "/x")
    assert reasons(found) == [R.MALFORMED, R.RESERVED]


def test_entries_before_a_fault_are_kept() -> None:
    body = '[{"location": "/a/", "tdm-reservation": 1}, {"location": "/b/", "tdm-res'
    file = parsed(body)
    assert reservation(file, "/a/x") == 1
    assert reasons(site_findings(file, "/a/x")) == [R.MALFORMED, R.RESERVED]
    broken = '[{"location": "/a/", "tdm-reservation": 1} {"location": "/b/"}]'  # no comma
    assert reservation(parsed(broken), "/a/x") == 1


def test_trailing_content_and_trailing_comma() -> None:
    file = parsed('[{"location": "/", "tdm-reservation": 1}] <html>')
    assert reasons(site_findings(file, "/x")) == [R.MALFORMED, R.RESERVED]
    assert reservation(parsed('[{"location": "/", "tdm-reservation": 1},]'), "/x") == 1


def test_unknown_members_are_ignored() -> None:
    file = rules([{"location": "/", "tdm-reservation": 1, "comment": "ours", "x": [1, {}]}])
    assert site_findings(file, "/x")[0].reason == R.RESERVED
    assert file.problems == ()


# ---------------------------------------------------------------------------------------------
# Encodings

BOMS = [
    codecs.BOM_UTF8 + EXAMPLE_1.encode("utf-8"),
    codecs.BOM_UTF16_LE + EXAMPLE_1.encode("utf-16-le"),
    codecs.BOM_UTF16_BE + EXAMPLE_1.encode("utf-16-be"),
    codecs.BOM_UTF32_LE + EXAMPLE_1.encode("utf-32-le"),
    codecs.BOM_UTF32_BE + EXAMPLE_1.encode("utf-32-be"),
    b"\n\r\t " + EXAMPLE_1.encode(),
]


@pytest.mark.parametrize("body", BOMS)
def test_byte_order_marks(body: bytes) -> None:
    assert reasons(site_findings(parsed(body), "/x")) == [R.RESERVED]


def test_invalid_utf8_inside_strings_is_tolerated() -> None:
    # bytes that are no UTF-8 become U+FFFD; the rule still reads, the others still match
    first = b'{"location": "/caf\xe9/", "tdm-reservation": 1}'
    body = b"[" + first + b', {"location": "/", "tdm-reservation": 0}]'
    assert reservation(parsed(body), "/caf\ufffd/x") == 1
    assert reservation(parsed(body), "/x") == 0


# ---------------------------------------------------------------------------------------------
# Bounds


def test_five_megabyte_file_is_read_up_to_max_entries() -> None:
    entry = json.dumps({"location": "/dir-{}/" + "x" * 400, "tdm-reservation": 1})
    count = 5_000_000 // len(entry)
    assert count > MAX_ENTRIES
    body = ("[" + ",".join(entry.replace("{}", str(i)) for i in range(count)) + "]").encode()
    assert len(body) >= 5_000_000
    started = time.perf_counter()
    file = parsed(body)
    assert len(file.rules) == MAX_ENTRIES
    assert file.truncated
    found = site_findings(file, "/dir-7/" + "x" * 400)
    assert reasons(found) == [R.TRUNCATED, R.RESERVED]
    # an entry after the limit is not read
    assert site_findings(file, f"/dir-{MAX_ENTRIES + 5}/" + "x" * 400) == (
        site_findings(file, "/nowhere")
    )
    assert reasons(site_findings(file, "/nowhere")) == [R.TRUNCATED]
    assert time.perf_counter() - started < 20
    assert file.estimated_bytes() > MAX_ENTRIES * 400


def test_five_megabyte_garbage_and_huge_strings() -> None:
    started = time.perf_counter()
    assert parsed(b"\xff" * 5_000_000).rules == ()
    huge = b'[{"location": "/' + b"a" * 5_000_000 + b'", "tdm-reservation": 1}]'
    file = parsed(huge)
    assert file.rules == ()  # a location that long is ignored
    assert file.problems
    assert parsed(b"[" + b"1," * 2_500_000 + b"1]").rules == ()  # 2.5 M non-objects
    assert time.perf_counter() - started < 20


def test_body_over_the_cap_keeps_its_beginning() -> None:
    head = b'[{"location": "/", "tdm-reservation": 1},'
    body = head + b'{"location": "/x", "tdm-reservation": 0},' * (MAX_BODY_BYTES // 40)
    assert len(body) > MAX_BODY_BYTES
    file = parsed(body)
    assert reservation(file, "/x") == 1
    assert file.problems


def test_pathological_pattern_is_linear() -> None:
    location = "/" + "*a" * 2000 + "$"
    file = rules([{"location": location, "tdm-reservation": 1}])
    started = time.perf_counter()
    assert reservation(file, "/" + "a" * 1999 + "b") is None
    assert reservation(file, "/" + "a" * 3000) == 1
    assert time.perf_counter() - started < 2


def test_many_problems_are_counted_not_kept() -> None:
    file = rules([{"nope": i} for i in range(500)])
    assert file.problem_count == 500
    assert len(file.problems) < 50
    assert "more" in (site_findings(file, "/")[0].detail or "")


def test_estimated_bytes_grows_with_the_rules() -> None:
    small = rules([{"location": "/", "tdm-reservation": 1}])
    large = rules([{"location": f"/{i}/", "tdm-reservation": 1} for i in range(1000)])
    assert 0 < small.estimated_bytes() < large.estimated_bytes()


# ---------------------------------------------------------------------------------------------
# HTTP header fields (spec, section "TDM Header Field in HTTP Responses")


def test_spec_header_example_1() -> None:
    # spec, first example: reserved, no way to acquire a TDM License
    headers = [
        ("Date", "Wed, 14 Jul 2021 12:07:48 GMT"),
        ("Content-type", "image/jpg"),
        ("tdm-reservation", "1"),
    ]
    found = asset_findings(asset_of(headers))
    assert reasons(found) == [R.RESERVED]
    assert found[0].reserves == TDM_PURPOSES
    assert found[0].license is None
    assert "header" in (found[0].detail or "")


def test_spec_header_example_2() -> None:
    # spec, second example: reserved, with a tdm-policy pointing to a TDM Policy
    headers = [("Content-type", "text/html"), ("tdm-reservation", "1"), ("tdm-policy", POLICY)]
    found = asset_findings(asset_of(headers))
    assert reasons(found) == [R.RESERVED]
    assert found[0].license == POLICY
    reading = tdm_reading(None, asset_of(headers), "/a")
    assert (reading.reservation, reading.policy) == (1, POLICY)


HEADER_VALUES = [
    # (header lines, deciding reasons, extra notes)
    ([("tdm-reservation", "0")], [R.NOT_RESERVED], []),  # spec: 0 = not reserved
    ([("tdm-reservation", " 1 ")], [R.RESERVED], []),  # trimmed
    ([("TDM-Reservation", "1")], [R.RESERVED], []),  # field names are case-insensitive
    ([("tdm-reservation", "1, 1")], [R.RESERVED], []),
    ([("tdm-reservation", "1,0")], [R.RESERVED], []),  # one 1 reserves
    ([("tdm-reservation", "0"), ("tdm-reservation", "1")], [R.RESERVED], []),  # two lines
    ([("tdm-reservation", "0"), ("tdm-reservation", "0")], [R.NOT_RESERVED], []),
    ([("tdm-reservation", "0, 0")], [R.NOT_RESERVED], []),
    ([("tdm-reservation", '"1"')], [R.RESERVED], []),  # quoted
    # spec: other values are protocol errors, unset
    ([("tdm-reservation", "2")], [], [R.INVALID_VALUE]),
    ([("tdm-reservation", "yes")], [], [R.INVALID_VALUE]),
    ([("tdm-reservation", "1.0")], [], [R.INVALID_VALUE]),
    ([("tdm-reservation", "true")], [], [R.INVALID_VALUE]),
    ([("tdm-reservation", "0, x")], [], [R.INVALID_VALUE]),  # a 0 in doubt is no permission
    ([("tdm-reservation", "1, x")], [R.RESERVED], [R.INVALID_VALUE]),
    ([("tdm-reservation", "")], [], []),  # an empty value states nothing
    ([("tdm-policy", POLICY)], [], []),  # a policy alone reserves nothing
    ([("x-tdm-reservation", "1")], [], []),
]


@pytest.mark.parametrize(("headers", "expected", "notes"), HEADER_VALUES)
def test_header_values(
    headers: list[tuple[str, str]], expected: list[str], notes: list[str]
) -> None:
    found = asset_findings(asset_of(headers))
    assert reasons(deciding(found)) == expected
    assert [f.reason for f in found if not (f.reserves or f.allows)] == notes


def test_header_policy_relative_and_several_lines() -> None:
    headers = [
        ("tdm-reservation", "1"),
        ("tdm-policy", "javascript:void(0)"),
        ("tdm-policy", "/policies/tdm.json"),
        ("tdm-policy", POLICY),
    ]
    found = asset_findings(asset_of(headers, url=ORIGIN + "/img/a.jpg"))
    assert found[0].license == ORIGIN + "/policies/tdm.json"


def test_header_zero_carries_no_policy() -> None:
    found = asset_findings(asset_of([("tdm-reservation", "0"), ("tdm-policy", POLICY)]))
    assert reasons(found) == [R.NOT_RESERVED]
    assert found[0].license is None


# ---------------------------------------------------------------------------------------------
# HTML meta tags (spec, section "TDM Metadata in HTML Content")


def test_spec_meta_example() -> None:
    # spec example: an html document with tdm-reservation 1 and a TDM Policy
    html = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="tdm-reservation" content="1">\n'
        f'<meta name="tdm-policy" content="{POLICY}">\n'
        "<title>Document title</title>\n</head>\n<body>...</body>\n</html>"
    )
    found = asset_findings(asset_of(html=html))
    assert reasons(found) == [R.RESERVED]
    assert found[0].license == POLICY
    assert "meta" in (found[0].detail or "")
    reading = tdm_reading(None, asset_of(html=html), "/a")
    assert (reading.reservation, reading.policy) == (1, POLICY)


META_CASES = [
    # (metas, deciding reasons, notes)
    ([("tdm-reservation", "0")], [R.NOT_RESERVED], []),
    ([("TDM-Reservation", " 1 ")], [R.RESERVED], []),
    ([("tdm-reservation", "0"), ("tdm-reservation", "1")], [R.RESERVED], []),
    ([("tdm-reservation", "maybe")], [], [R.INVALID_VALUE]),
    ([("tdm-policy", POLICY)], [], []),
    ([("robots", "noai")], [], []),
]


@pytest.mark.parametrize(("metas", "expected", "notes"), META_CASES)
def test_meta_values(metas: list[tuple[str, str]], expected: list[str], notes: list[str]) -> None:
    found = asset_findings(asset_of(html=page(*metas)))
    assert reasons(deciding(found)) == expected
    assert [f.reason for f in found if not (f.reserves or f.allows)] == notes


def test_meta_http_equiv_counts() -> None:
    found = asset_findings(asset_of(html=page(("tdm-reservation", "1"), attribute="http-equiv")))
    assert reasons(found) == [R.RESERVED]


def test_no_html_no_meta() -> None:
    assert asset_findings(asset_of()) == ()
    assert asset_findings(asset_of(html="")) == ()
    assert asset_findings(asset_of(html="<html><head><title>x</title></head></html>")) == ()


def test_header_and_meta_disagree_the_reservation_wins() -> None:
    # spec, "Processing priority": meta values supersede header values, so the spec would read
    # 0 here; ours: the most restrictive statement wins, with a note
    asset = asset_of([("tdm-reservation", "1")], html=page(("tdm-reservation", "0")))
    found = asset_findings(asset)
    assert reasons(found) == [R.RESERVED, R.NOT_RESERVED, R.CONFLICT]
    assert tdm_reading(None, asset, "/a").reservation == 1


def test_license_borrowed_from_the_other_carrier() -> None:
    asset = asset_of([("tdm-reservation", "1")], html=page(("tdm-policy", POLICY)))
    found = asset_findings(asset)
    assert reasons(found) == [R.RESERVED]
    assert found[0].license == POLICY
    zero = asset_of(
        [("tdm-reservation", "1")], html=page(("tdm-reservation", "0"), ("tdm-policy", POLICY))
    )
    assert asset_findings(zero)[0].license is None


# ---------------------------------------------------------------------------------------------
# Priority between carriers (spec, section "Processing priority"; ours: most restrictive wins)

FILE_1 = [{"location": "/", "tdm-reservation": 1, "tdm-policy": "https://provider.com/file"}]
FILE_0 = [{"location": "/", "tdm-reservation": 0, "tdm-policy": "https://provider.com/file"}]
HEADER_1 = [("tdm-reservation", "1"), ("tdm-policy", "https://provider.com/header")]
HEADER_0 = [("tdm-reservation", "0")]
HEADER_POLICY = [("tdm-policy", "https://provider.com/header")]
META_1 = page(("tdm-reservation", "1"), ("tdm-policy", "https://provider.com/meta"))
META_0 = page(("tdm-reservation", "0"))
META_POLICY = page(("tdm-policy", "https://provider.com/meta"))

PRIORITY = [
    # (file, headers, html, reservation, policy)
    # spec: header values supersede the file's; ours: a 0 never lifts a 1
    (FILE_1, HEADER_0, None, 1, "https://provider.com/file"),
    (FILE_0, HEADER_1, None, 1, "https://provider.com/header"),
    (FILE_1, HEADER_1, None, 1, "https://provider.com/header"),
    # spec: meta values supersede previous values; the policy follows that priority
    (FILE_1, HEADER_1, META_1, 1, "https://provider.com/meta"),
    (FILE_1, HEADER_0, META_0, 1, "https://provider.com/file"),
    (FILE_0, HEADER_0, META_1, 1, "https://provider.com/meta"),
    (FILE_0, HEADER_0, META_0, 0, None),
    # absence never resets: a carrier that only names a policy keeps the reservation
    (FILE_1, HEADER_POLICY, None, 1, "https://provider.com/header"),
    (FILE_1, [], META_POLICY, 1, "https://provider.com/meta"),
    (FILE_0, [], None, 0, None),
    (None, HEADER_POLICY, None, None, "https://provider.com/header"),
    (None, [], None, None, None),
    # a 0 carrier's policy is never used (spec: SHOULD NOT process tdm-policy next to a 0)
    (None, HEADER_0 + HEADER_POLICY, None, 0, None),
]


@pytest.mark.parametrize(("file", "headers", "html", "expected", "policy"), PRIORITY)
def test_carrier_priority(
    file: object,
    headers: list[tuple[str, str]],
    html: str | None,
    expected: int | None,
    policy: str | None,
) -> None:
    site = site_of(rules(file) if file is not None else None)
    reading = tdm_reading(site, asset_of(headers, html=html), "/a")
    assert (reading.reservation, reading.policy) == (expected, policy)


def test_reading_lists_its_statements_in_priority_order() -> None:
    reading = tdm_reading(site_of(rules(FILE_1)), asset_of(HEADER_0, html=META_1), "/a")
    assert [s.carrier for s in reading.statements] == ["meta", "header", "file"]


def test_unreachable_file_is_a_refusal_not_a_value() -> None:
    site = site_of(parse_tdmrep(FetchOutcome.TIMEOUT, None, None))
    assert tdm_reading(site, None, "/a").reservation is None
    assert reasons(TdmRepSiteCheck().check(site, "/a")) == [R.UNREACHABLE]


# ---------------------------------------------------------------------------------------------
# The checks as components


def test_check_shapes() -> None:
    # spec, "Processing priority": the TDM file is checked before scraping the origin
    site_check = TdmRepSiteCheck()
    assert site_check.name == "tdmrep"
    assert site_check.documents == ("tdmrep",) == (KIND,)
    assert tuple(site_check.linked(site_of(None))) == ()
    asset_check = TdmRepAssetCheck()
    assert asset_check.name == "tdmrep_asset"
    assert tuple(asset_check.linked(asset_of())) == ()
    assert WELL_KNOWN_PATH == "/.well-known/tdmrep.json"


def test_search_is_never_reserved() -> None:
    assert frozenset({Purpose.TRAIN_AI, Purpose.AI_INPUT}) == TDM_PURPOSES
    found = site_findings(parsed(EXAMPLE_1), "/x") + asset_findings(
        asset_of([("tdm-reservation", "1")], html=page(("tdm-reservation", "1")))
    )
    assert found
    assert all(Purpose.SEARCH not in f.reserves for f in found)


def test_findings_are_deterministic_and_deduplicated() -> None:
    file = parsed('[{"location": "/", "location": "/", "tdm-reservation": 1}]')
    first = site_findings(file, "/x")
    assert first == site_findings(file, "/x")
    assert len(first) == len(set(first))
    asset = asset_of(
        [("tdm-reservation", "1"), ("tdm-reservation", "1")],
        html=page(("tdm-reservation", "1"), ("tdm-reservation", "1")),
    )
    found = asset_findings(asset)
    assert found == asset_findings(asset)
    assert len(found) == len(set(found)) == 2  # one per carrier


def test_reason_codes() -> None:
    assert str(Reason.TDMREP_RESERVED) == str(R.RESERVED)  # the existing code
    for reason in R:
        assert reason.value.startswith("tdmrep.")
        assert reason.value == reason.value.lower()
    documented = {code for signal in SIGNALS for code in signal.reasons}
    assert documented == set(R)
    for signal in SIGNALS:
        assert "https://www.w3.org/2022/tdmrep/" in signal.source
        assert signal.reading
        assert "search" in signal.purposes
