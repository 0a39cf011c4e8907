"""All 4,231 real robots.txt files of the bundled corpus parse and decide without an error, and
the indexed lookup answers exactly what a plain scan of the rules in rank order answers."""

from __future__ import annotations

import tarfile
from pathlib import Path

from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import RobotsTxt, Rule, normalise_path

ARCHIVE = Path(__file__).resolve().parents[3] / "benchmarks" / "data" / "robots-corpus.tar.xz"
PATHS = (
    "/",
    "/robots.txt",
    "/admin/",
    "/search?q=x",
    "/%E3%83%84",
    "/a*b$",
    "/wp-admin/x.php",
    "/index.html?x=1",
    "/" + "x" * 3000,
)


def test_every_corpus_file_parses_and_decides() -> None:
    files = 0
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        for member in archive:
            if not (member.isfile() and member.name.startswith("robots/")):
                continue
            extracted = archive.extractfile(member)
            assert extracted is not None
            robots = RobotsTxt.parse(decode_robots(extracted.read()))
            for token in ("ExampleBot", "Googlebot", "*", "", "Bad Agent/1.0"):
                for path in PATHS:
                    # The fast answer always agrees with the full match that names the rule.
                    assert robots.allowed(path, token) is robots.match(path, token).allowed
                robots.crawl_delay(token)
            assert robots.allowed("/robots.txt", "ExampleBot")
            files += 1
    assert files == 4231


def corpus_texts() -> list[str]:
    with tarfile.open(ARCHIVE, "r:xz") as archive:
        return [
            decode_robots(extracted.read())
            for member in archive
            if member.isfile() and member.name.startswith("robots/")
            if (extracted := archive.extractfile(member)) is not None
        ]


def paths_for(robots: RobotsTxt) -> list[str]:
    """PATHS, plus paths built from the file's own patterns so that rules do match."""
    paths = list(PATHS)
    for group in robots.groups[:4]:
        for rule in group.rules[:12]:
            concrete = rule.pattern.replace("*", "x").rstrip("$")
            paths += [concrete, concrete + "/y", concrete[:-1]]
    return paths


def scan(rules: tuple[Rule, ...], path: str) -> Rule | None:
    """The reference reading: the best-ranked matching rule, by a plain scan."""
    matching = [rule for rule in rules if rule.matches(path)]
    return min(matching, key=lambda rule: rule.rank) if matching else None


def test_indexed_lookups_agree_with_a_plain_scan_over_the_whole_corpus() -> None:
    texts = corpus_texts()
    assert len(texts) == 4231
    for text in texts:
        robots = RobotsTxt.parse(text)
        for token in ("ExampleBot", "Googlebot"):
            merged = robots.rules_for(token)
            plain = tuple(merged.rules)
            for path in paths_for(robots):
                normalised = normalise_path(path or "/")
                if normalised == "/robots.txt":
                    continue
                expected = scan(plain, normalised)
                assert merged.first(normalised) is expected, (text[:80], token, path)
