"""All 4,231 real robots.txt files of the bundled corpus parse and decide without an error."""

from __future__ import annotations

import tarfile
from pathlib import Path

from optout_service.policy.robots import decode_robots
from optout_service.policy.robotstxt import RobotsTxt

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
