# ruff: noqa: E501  (data: one case a line reads better than wrapped)
"""robots.txt expectations from public sources, as data: (source, robots.txt, agent, URL, allowed).

Sources:
- RFC9309: RFC 9309 (Robots Exclusion Protocol), the section named in each case.
- GOOGLE: google/robotstxt robots_test.cc (Apache-2.0), the test named in each case.
- CRAWLER-COMMONS: crawler-commons SimpleRobotRulesParserTest (Apache-2.0), the test named; its
  testRfpCases carry the example of the 1996 robots.txt draft (norobots-rfc).
- ISSUE: readings this project must hold where other Python parsers deviate (docs/robots.md).
Cases where the sources disagree are kept out of this table; they are listed, with the reading
we chose, in docs/robots.md and tested in test_robotstxt.py.
"""

from __future__ import annotations

RFC_SIMPLE = (
    "User-Agent: *\nDisallow: *.gif$\nDisallow: /example/\nAllow: /publications/\n\n"
    "User-Agent: foobot\nDisallow:/\nAllow:/example/page.html\nAllow:/example/allowed.gif\n\n"
    "User-Agent: barbot\nUser-Agent: bazbot\nDisallow: /example/page.html\n\n"
    "User-Agent: quxbot\n\nEOF\n"
)
RFC_LONGEST = "User-Agent: foobot\nAllow: /example/page/\nDisallow: /example/page/disallowed.gif\n"
G_GROUPS = (
    "allow: /foo/bar/\n\nuser-agent: FooBot\ndisallow: /\nallow: /x/\nuser-agent: BarBot\n"
    "disallow: /\nallow: /y/\n\n\nallow: /w/\nuser-agent: BazBot\n\nuser-agent: FooBot\n"
    "allow: /z/\ndisallow: /\n"
)
G_FISH = "user-agent: FooBot\ndisallow: /\nallow: /fish\n"
G_FISH_STAR = "user-agent: FooBot\ndisallow: /\nallow: /fish*\n"
G_FISH_SLASH = "user-agent: FooBot\ndisallow: /\nallow: /fish/\n"
G_PHP = "user-agent: FooBot\ndisallow: /\nallow: /*.php\n"
G_PHP_END = "user-agent: FooBot\ndisallow: /\nallow: /*.php$\n"
G_FISH_PHP = "user-agent: FooBot\ndisallow: /\nallow: /fish*.php\n"
G_UA_CASE = "User-Agent: FoO bAr\nAllow: /x/\nDisallow: /\n"
G_GLOBAL = "user-agent: *\nallow: /\nuser-agent: FooBot\ndisallow: /\n"
G_ONLY_SPECIFIC = "user-agent: FooBot\nallow: /\nuser-agent: BarBot\ndisallow: /\nuser-agent: BazBot\ndisallow: /\n"

CASES: list[tuple[str, str, str, str, bool]] = [
    # RFC 9309 5.1 (simple example)
    ("RFC9309 5.1", RFC_SIMPLE, "foobot", "http://example.com/example/page.html", True),
    ("RFC9309 5.1", RFC_SIMPLE, "foobot", "http://example.com/example/allowed.gif", True),
    ("RFC9309 5.1", RFC_SIMPLE, "foobot", "http://example.com/anything", False),
    ("RFC9309 5.1", RFC_SIMPLE, "barbot", "http://example.com/example/page.html", False),
    ("RFC9309 5.1", RFC_SIMPLE, "bazbot", "http://example.com/example/page.html", False),
    ("RFC9309 5.1", RFC_SIMPLE, "bazbot", "http://example.com/example/other.gif", True),
    ("RFC9309 5.1", RFC_SIMPLE, "quxbot", "http://example.com/example/page.html", True),
    ("RFC9309 5.1", RFC_SIMPLE, "otherbot", "http://example.com/image.gif", False),
    ("RFC9309 5.1", RFC_SIMPLE, "otherbot", "http://example.com/image.gif?x", True),
    ("RFC9309 5.1", RFC_SIMPLE, "otherbot", "http://example.com/example/x", False),
    ("RFC9309 5.1", RFC_SIMPLE, "otherbot", "http://example.com/publications/x", True),
    ("RFC9309 5.1", RFC_SIMPLE, "otherbot", "http://example.com/", True),
    # RFC 9309 5.2 (longest match)
    ("RFC9309 5.2", RFC_LONGEST, "foobot", "http://example.com/example/page/", True),
    ("RFC9309 5.2", RFC_LONGEST, "foobot", "http://example.com/example/page/disallowed.gif", False),
    # RFC 9309 2.2.2: /robots.txt is implicitly allowed
    (
        "RFC9309 2.2.2",
        "User-agent: *\nDisallow: /\n",
        "foobot",
        "http://example.com/robots.txt",
        True,
    ),
    # google robots_test.cc GoogleOnly_SystemTest
    ("GOOGLE SystemTest", "", "FooBot", "", True),
    ("GOOGLE SystemTest", "user-agent: FooBot\ndisallow: /\n", "", "", True),
    ("GOOGLE SystemTest", "user-agent: FooBot\ndisallow: /\n", "FooBot", "", False),
    # ID_LineSyntax_Line
    (
        "GOOGLE ID_LineSyntax_Line",
        "user-agent: FooBot\ndisallow: /\n",
        "FooBot",
        "http://foo.bar/x/y",
        False,
    ),
    ("GOOGLE ID_LineSyntax_Line", "foo: FooBot\nbar: /\n", "FooBot", "http://foo.bar/x/y", True),
    (
        "GOOGLE ID_LineSyntax_Line",
        "user-agent FooBot\ndisallow /\n",
        "FooBot",
        "http://foo.bar/x/y",
        False,
    ),
    # ID_LineSyntax_Groups
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "FooBot", "http://foo.bar/x/b", True),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "FooBot", "http://foo.bar/z/d", True),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "FooBot", "http://foo.bar/y/c", False),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BarBot", "http://foo.bar/y/c", True),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BarBot", "http://foo.bar/w/a", True),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BarBot", "http://foo.bar/z/d", False),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BazBot", "http://foo.bar/z/d", True),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "FooBot", "http://foo.bar/foo/bar/", False),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BarBot", "http://foo.bar/foo/bar/", False),
    ("GOOGLE ID_LineSyntax_Groups", G_GROUPS, "BazBot", "http://foo.bar/foo/bar/", False),
    # ID_REPLineNamesCaseInsensitive
    (
        "GOOGLE ID_REPLineNamesCaseInsensitive",
        "USER-AGENT: FooBot\nALLOW: /x/\nDISALLOW: /\n",
        "FooBot",
        "http://foo.bar/x/y",
        True,
    ),
    (
        "GOOGLE ID_REPLineNamesCaseInsensitive",
        "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n",
        "FooBot",
        "http://foo.bar/x/y",
        True,
    ),
    (
        "GOOGLE ID_REPLineNamesCaseInsensitive",
        "uSeR-aGeNt: FooBot\nAlLoW: /x/\ndIsAlLoW: /\n",
        "FooBot",
        "http://foo.bar/a/b",
        False,
    ),
    # ID_UserAgentValueCaseInsensitive
    ("GOOGLE ID_UserAgentValueCaseInsensitive", G_UA_CASE, "Foo", "http://foo.bar/x/y", True),
    ("GOOGLE ID_UserAgentValueCaseInsensitive", G_UA_CASE, "foo", "http://foo.bar/a/b", False),
    (
        "GOOGLE ID_UserAgentValueCaseInsensitive",
        "User-Agent: FOO BAR\nAllow: /x/\nDisallow: /\n",
        "foo",
        "http://foo.bar/x/y",
        True,
    ),
    # GoogleOnly_AcceptUserAgentUpToFirstSpace
    (
        "GOOGLE AcceptUserAgentUpToFirstSpace",
        "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
        "Foo",
        "http://foo.bar/x/y",
        True,
    ),
    (
        "GOOGLE AcceptUserAgentUpToFirstSpace",
        "User-Agent: *\nDisallow: /\nUser-Agent: Foo Bar\nAllow: /x/\nDisallow: /\n",
        "Foo Bar",
        "http://foo.bar/x/y",
        False,
    ),
    # ID_GlobalGroups_Secondary
    ("GOOGLE ID_GlobalGroups_Secondary", "", "FooBot", "http://foo.bar/x/y", True),
    ("GOOGLE ID_GlobalGroups_Secondary", G_GLOBAL, "FooBot", "http://foo.bar/x/y", False),
    ("GOOGLE ID_GlobalGroups_Secondary", G_GLOBAL, "BarBot", "http://foo.bar/x/y", True),
    ("GOOGLE ID_GlobalGroups_Secondary", G_ONLY_SPECIFIC, "QuxBot", "http://foo.bar/x/y", True),
    # ID_AllowDisallow_Value_CaseSensitive
    (
        "GOOGLE ID_AllowDisallow_Value_CaseSensitive",
        "user-agent: FooBot\ndisallow: /x/\n",
        "FooBot",
        "http://foo.bar/x/y",
        False,
    ),
    (
        "GOOGLE ID_AllowDisallow_Value_CaseSensitive",
        "user-agent: FooBot\ndisallow: /X/\n",
        "FooBot",
        "http://foo.bar/x/y",
        True,
    ),
    # ID_LongestMatch
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/\n",
        "FooBot",
        "http://foo.bar/x/page.html",
        False,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n",
        "FooBot",
        "http://foo.bar/x/page.html",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /x/page.html\ndisallow: /x/\n",
        "FooBot",
        "http://foo.bar/x/",
        False,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: \nallow: \n",
        "FooBot",
        "http://foo.bar/x/page.html",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: /\nallow: /\n",
        "FooBot",
        "http://foo.bar/x/page.html",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: /x\nallow: /x/\n",
        "FooBot",
        "http://foo.bar/x",
        False,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: /x\nallow: /x/\n",
        "FooBot",
        "http://foo.bar/x/",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\ndisallow: /x/page.html\nallow: /x/page.html\n",
        "FooBot",
        "http://foo.bar/x/page.html",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n",
        "FooBot",
        "http://foo.bar/page.html",
        False,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /page\ndisallow: /*.html\n",
        "FooBot",
        "http://foo.bar/page",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n",
        "FooBot",
        "http://foo.bar/x/page.html",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "user-agent: FooBot\nallow: /x/page.\ndisallow: /*.html\n",
        "FooBot",
        "http://foo.bar/x/y.html",
        False,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n",
        "FooBot",
        "http://foo.bar/x/page",
        True,
    ),
    (
        "GOOGLE ID_LongestMatch",
        "User-agent: *\nDisallow: /x/\nUser-agent: FooBot\nDisallow: /y/\n",
        "FooBot",
        "http://foo.bar/y/page",
        False,
    ),
    # ID_Encoding
    (
        "GOOGLE ID_Encoding",
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar?qux=taz&baz=http://foo.bar?tar&par\n",
        "FooBot",
        "http://foo.bar/foo/bar?qux=taz&baz=http://foo.bar?tar&par",
        True,
    ),
    (
        "GOOGLE ID_Encoding",
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/ツ\n",
        "FooBot",
        "http://foo.bar/foo/bar/%E3%83%84",
        True,
    ),
    (
        "GOOGLE ID_Encoding",
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%E3%83%84\n",
        "FooBot",
        "http://foo.bar/foo/bar/%E3%83%84",
        True,
    ),
    (
        "GOOGLE ID_Encoding",
        "User-agent: FooBot\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n",
        "FooBot",
        "http://foo.bar/foo/bar/%62%61%7A",
        True,
    ),
    # ID_SpecialCharacters
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "http://foo.bar/foo/bar/quz",
        False,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "http://foo.bar/foo/quz",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "http://foo.bar/foo//quz",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar/quz\nAllow: /foo/*/qux\n",
        "FooBot",
        "http://foo.bar/foo/bax/quz",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "http://foo.bar/foo/bar",
        False,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "http://foo.bar/foo/bar/qux",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "http://foo.bar/foo/bar/",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\nDisallow: /foo/bar$\nAllow: /foo/bar/qux\n",
        "FooBot",
        "http://foo.bar/foo/bar/baz",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
        "FooBot",
        "http://foo.bar/foo/bar",
        True,
    ),
    (
        "GOOGLE ID_SpecialCharacters",
        "User-agent: FooBot\n# Disallow: /\nDisallow: /foo/quz#qux\nAllow: /\n",
        "FooBot",
        "http://foo.bar/foo/quz",
        False,
    ),
    # GoogleOnly_DocumentationChecks
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/bar", False),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fish", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fish.html", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fish/salmon.html", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fishheads", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fishheads/yummy.html", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/fish.html?id=anything", True),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/Fish.asp", False),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/catfish", False),
    ("GOOGLE DocumentationChecks", G_FISH, "FooBot", "http://foo.bar/?id=fish", False),
    ("GOOGLE DocumentationChecks", G_FISH_STAR, "FooBot", "http://foo.bar/bar", False),
    ("GOOGLE DocumentationChecks", G_FISH_STAR, "FooBot", "http://foo.bar/fish", True),
    (
        "GOOGLE DocumentationChecks",
        G_FISH_STAR,
        "FooBot",
        "http://foo.bar/fishheads/yummy.html",
        True,
    ),
    ("GOOGLE DocumentationChecks", G_FISH_STAR, "FooBot", "http://foo.bar/Fish.bar", False),
    ("GOOGLE DocumentationChecks", G_FISH_STAR, "FooBot", "http://foo.bar/catfish", False),
    ("GOOGLE DocumentationChecks", G_FISH_SLASH, "FooBot", "http://foo.bar/fish/", True),
    ("GOOGLE DocumentationChecks", G_FISH_SLASH, "FooBot", "http://foo.bar/fish/salmon", True),
    ("GOOGLE DocumentationChecks", G_FISH_SLASH, "FooBot", "http://foo.bar/fish/?salmon", True),
    ("GOOGLE DocumentationChecks", G_FISH_SLASH, "FooBot", "http://foo.bar/fish", False),
    ("GOOGLE DocumentationChecks", G_FISH_SLASH, "FooBot", "http://foo.bar/fish.html", False),
    (
        "GOOGLE DocumentationChecks",
        G_FISH_SLASH,
        "FooBot",
        "http://foo.bar/Fish/Salmon.html",
        False,
    ),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/filename.php", True),
    (
        "GOOGLE DocumentationChecks",
        G_PHP,
        "FooBot",
        "http://foo.bar/folder/filename.php?parameters",
        True,
    ),
    (
        "GOOGLE DocumentationChecks",
        G_PHP,
        "FooBot",
        "http://foo.bar//folder/any.php.file.html",
        True,
    ),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/filename.php/", True),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/index?f=filename.php/", True),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/php/", False),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/index?php", False),
    ("GOOGLE DocumentationChecks", G_PHP, "FooBot", "http://foo.bar/windows.PHP", False),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar/filename.php", True),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar/folder/filename.php", True),
    (
        "GOOGLE DocumentationChecks",
        G_PHP_END,
        "FooBot",
        "http://foo.bar/filename.php?parameters",
        False,
    ),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar/filename.php/", False),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar/filename.php5", False),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar/aaaphpaaa", False),
    ("GOOGLE DocumentationChecks", G_PHP_END, "FooBot", "http://foo.bar//windows.PHP", False),
    ("GOOGLE DocumentationChecks", G_FISH_PHP, "FooBot", "http://foo.bar/fish.php", True),
    (
        "GOOGLE DocumentationChecks",
        G_FISH_PHP,
        "FooBot",
        "http://foo.bar/fishheads/catfish.php?parameters",
        True,
    ),
    ("GOOGLE DocumentationChecks", G_FISH_PHP, "FooBot", "http://foo.bar/Fish.PHP", False),
    (
        "GOOGLE DocumentationChecks",
        "user-agent: FooBot\nallow: /p\ndisallow: /\n",
        "FooBot",
        "http://example.com/page",
        True,
    ),
    (
        "GOOGLE DocumentationChecks",
        "user-agent: FooBot\nallow: /folder\ndisallow: /folder\n",
        "FooBot",
        "http://example.com/folder/page",
        True,
    ),
    (
        "GOOGLE DocumentationChecks",
        "user-agent: FooBot\nallow: /page\ndisallow: /*.htm\n",
        "FooBot",
        "http://example.com/page.htm",
        False,
    ),
    (
        "GOOGLE DocumentationChecks",
        "user-agent: FooBot\nallow: /$\ndisallow: /\n",
        "FooBot",
        "http://example.com/",
        True,
    ),
    (
        "GOOGLE DocumentationChecks",
        "user-agent: FooBot\nallow: /$\ndisallow: /\n",
        "FooBot",
        "http://example.com/page.html",
        False,
    ),
    # Readings this project holds against known deviations of other Python parsers.
    (
        "ISSUE non-group line inside agents",
        "User-agent: a\nCrawl-delay: 5\nUser-agent: FooBot\nDisallow: /x\n",
        "a",
        "http://e.com/x",
        False,
    ),
    (
        "ISSUE sitemap line inside agents",
        "User-agent: FooBot\nSitemap: http://e.com/s.xml\nUser-agent: b\nDisallow: /x\n",
        "FooBot",
        "http://e.com/x",
        False,
    ),
    (
        "ISSUE unknown line inside a group",
        "User-agent: FooBot\nDisallow: /a\nfoo: bar\nDisallow: /b\n",
        "FooBot",
        "http://e.com/b",
        False,
    ),
    (
        "ISSUE token with version",
        "User-agent: FooBot/1.2\nDisallow: /\n",
        "FooBot",
        "http://e.com/x",
        False,
    ),
    ("ISSUE token list", "User-agent: One, Two\nDisallow: /\n", "One", "http://e.com/x", False),
    ("ISSUE token list", "User-agent: One, Two\nDisallow: /\n", "Two", "http://e.com/x", True),
    (
        "ISSUE exact token",
        "User-agent: hedwig\nDisallow: /\n",
        "hedwig-news",
        "http://e.com/x",
        True,
    ),
    (
        "ISSUE exact token",
        "User-agent: hedwig-news\nDisallow: /\n",
        "hedwig",
        "http://e.com/x",
        True,
    ),
    ("ISSUE exact token", "User-agent: Hedwig\nDisallow: /\n", "hedwig", "http://e.com/x", False),
    (
        "ISSUE star only when unnamed",
        "User-agent: *\nDisallow: /\n\nUser-agent: FooBot\nDisallow: /private\n",
        "FooBot",
        "http://e.com/x",
        True,
    ),
    (
        "ISSUE merged groups",
        "User-agent: FooBot\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: foobot\nDisallow: /b\n",
        "FooBot",
        "http://e.com/b",
        False,
    ),
    (
        "ISSUE merged groups",
        "User-agent: FooBot\nDisallow: /a\n\nUser-agent: *\nDisallow: /\n\nUser-agent: foobot\nDisallow: /b\n",
        "FooBot",
        "http://e.com/c",
        True,
    ),
    (
        "ISSUE %2F stays distinct",
        "User-agent: *\nDisallow: /a%2Fb\n",
        "FooBot",
        "http://e.com/a/b",
        True,
    ),
    (
        "ISSUE %2F stays distinct",
        "User-agent: *\nDisallow: /a%2fb\n",
        "FooBot",
        "http://e.com/a%2Fb",
        False,
    ),
    (
        "ISSUE unreserved decoded",
        "User-agent: *\nDisallow: /%7Euser\n",
        "FooBot",
        "http://e.com/~user/x",
        False,
    ),
    (
        "ISSUE unreserved decoded",
        "User-agent: *\nDisallow: /~user\n",
        "FooBot",
        "http://e.com/%7euser/x",
        False,
    ),
    (
        "ISSUE non-ASCII encoded",
        "User-agent: *\nDisallow: /café\n",
        "FooBot",
        "http://e.com/caf%C3%A9/menu",
        False,
    ),
    (
        "ISSUE missing colon",
        "User-agent FooBot\nDisallow /secret\n",
        "FooBot",
        "http://e.com/secret",
        False,
    ),
    (
        "ISSUE misspelling",
        "User-agent: FooBot\nDissallow: /secret\n",
        "FooBot",
        "http://e.com/secret",
        False,
    ),
    ("ISSUE BOM", "\ufeffUser-agent: FooBot\nDisallow: /\n", "FooBot", "http://e.com/x", False),
]

# crawler-commons SimpleRobotRulesParserTest (Apache-2.0). Its crawler names ("UnhipBot/0.1")
# are given here as product tokens, the form our engine matches.
CC = "CRAWLER-COMMONS"
CC_RFP = (
    "# /robots.txt for http://www.fict.org/\r\n# comments to webmaster@fict.org\r\n\r\n"
    "User-agent: unhipbot\r\nDisallow: /\r\n\r\nUser-agent: webcrawler\r\nUser-agent: excite\r\n"
    "Disallow: \r\n\r\nUser-agent: *\r\nDisallow: /org/plans.html\r\nAllow: /org/\r\n"
    "Allow: /serv\r\nAllow: /~mak\r\nDisallow: /\r\n"
)
_RFP_PATHS = (
    "/",
    "/index.html",
    "/robots.txt",
    "/server.html",
    "/services/fast.html",
    "/services/slow.html",
    "/orgo.gif",
    "/org/about.html",
    "/org/plans.html",
    "/%7Ejim/jim.html",
    "/%7Emak/mak.html",
)
_RFP_EXPECTED = {
    "unhipbot": (False, False, True, False, False, False, False, False, False, False, False),
    "webcrawler": (True,) * 11,
    "excite": (True,) * 11,
    "unknownbot": (False, False, True, True, True, True, False, True, False, False, True),
}
CASES += [
    (f"{CC} testRfpCases", CC_RFP, agent, f"http://www.fict.org{path}", allowed)
    for agent, outcomes in _RFP_EXPECTED.items()
    for path, allowed in zip(_RFP_PATHS, outcomes, strict=True)
]
_CC_PATTERNS: list[tuple[str, list[tuple[str, bool]]]] = [
    (
        "/fish",
        [
            ("/fish", False),
            ("/fish.html", False),
            ("/fish/salmon.html", False),
            ("/fishheads", False),
            ("/fishheads/yummy.html", False),
            ("/fish.php?id=anything", False),
            ("/Fish.asp", True),
            ("/catfish", True),
            ("/?id=fish", True),
            ("/fis", True),
        ],
    ),
    (
        "/fish*",
        [
            ("/fish", False),
            ("/fish.html", False),
            ("/fishheads/yummy.html", False),
            ("/Fish.asp", True),
            ("/catfish", True),
            ("/?id=fish", True),
            ("/fis", True),
        ],
    ),
    (
        "/fish/",
        [
            ("/fish/", False),
            ("/fish/?id=anything", False),
            ("/fish/salmon.htm", False),
            ("/fish", True),
            ("/fish.html", True),
            ("/Fish/Salmon.asp", True),
        ],
    ),
    (
        "/*.php",
        [
            ("/filename.php", False),
            ("/folder/filename.php", False),
            ("/folder/filename.php?parameters", False),
            ("/folder/any.php.file.html", False),
            ("/filename.php/", False),
            ("/", True),
            ("/windows.PHP", True),
        ],
    ),
    (
        "/*.php$",
        [
            ("/filename.php", False),
            ("/folder/filename.php", False),
            ("/filename.php?parameters", True),
            ("/filename.php/", True),
            ("/filename.php5", True),
            ("/windows.PHP", True),
        ],
    ),
    (
        "/fish*.php",
        [("/fish.php", False), ("/fishheads/catfish.php?parameters", False), ("/Fish.PHP", True)],
    ),
    (
        "/*fish*.php",
        [
            ("/fish.php", False),
            ("/superfishheads/catfish.php?parameters", False),
            ("/fishheads/catfish.htm", True),
        ],
    ),
]
CASES += [
    (
        f"{CC} testGooglePatternMatching",
        f"User-agent: *\r\nDisallow: {pattern}\r\n",
        "anybot",
        f"http://www.fict.com{path}",
        allowed,
    )
    for pattern, expectations in _CC_PATTERNS
    for path, allowed in expectations
]
CASES += [
    (f"{CC} testEmptyRules", "", "anybot", "http://www.domain.com/anypage.html", True),
    (
        f"{CC} testQueryParamInDisallow",
        "User-agent: *\r\nDisallow: /index.cfm?fuseaction=sitesearch.results*",
        "anybot",
        "http://searchservice.domain.com/index.cfm?fuseaction=sitesearch.results&type=People&qry=california&pg=2",
        False,
    ),
    (
        f"{CC} testCommentedOutLines",
        "#user-agent: testAgent\n\n#allow: /index.html\n#allow: /test\n\n#user-agent: test\n\n"
        "#allow: /index.html\n#disallow: /test\n\n#user-agent: someAgent\n\n#disallow: /index.html\n"
        "#disallow: /test\n\n",
        "anybot",
        "http://www.domain.com/anypage.html",
        True,
    ),
    (
        f"{CC} testRobotsTxtAlwaysAllowed",
        "User-agent: *\r\nDisallow: /",
        "anybot",
        "http://www.domain.com/robots.txt",
        True,
    ),
    (
        f"{CC} testAgentNotListed",
        "User-agent: crawler1\r\nDisallow: /index.html\r\nAllow: /\r\n\r\nUser-agent: crawler2\r\nDisallow: /",
        "crawler3",
        "http://www.domain.com/index.html",
        True,
    ),
    (
        f"{CC} testNonAsciiEncoding",
        "User-agent: * # \u00a2 \u20b5\r\nDisallow:",
        "anybot",
        "http://www.domain.com/anypage.html",
        True,
    ),
    (
        f"{CC} testSimplestAllowAll",
        "User-agent: *\r\nDisallow:",
        "anybot",
        "http://www.domain.com/anypage.html",
        True,
    ),
]

# scrapy/protego tests/test_protego.py (BSD-3-Clause): its own unit expectations. Its agents
# "Rule1TestBot".."Rule7TestBot" are renamed RuleOneTestBot..RuleSevenTestBot: digits are not
# product-token characters (RFC 9309 2.2.1), so RFC and Google read all seven as agent "rule"
# (a disputed case, docs/robots.md; test_robotstxt.py holds our reading).
PR = "PROTEGO"
PR_WILD = (
    "User-agent: first\nDisallow: /disallowed/*/end$\nDisallow: /protego*work\n\n"
    "User-agent: second\nAllow: /*allowed\nDisallow: /\n"
)
PR_RULES = (
    "# robots.txt for http://www.example.com/\n\nUser-agent: RuleOneTestBot\nDisallow:  /foo*\n\n"
    "User-agent: RuleTwoTestBot\nDisallow:  /foo*/bar.html\n\n"
    "# Disallows anything containing the letter m!\nUser-agent: RuleThreeTestBot\nDisallow:  *m\n\n"
    "User-agent: RuleFourTestBot\nAllow:  /foo/bar.html\nDisallow: *\n\n"
    "User-agent: RuleFiveTestBot\nDisallow:  /foo*/*bar.html\n\n"
    "User-agent: RuleSixTestBot\nAllow:  /foo$\nDisallow:  /foo\n\n"
    "User-agent: RuleSevenTestBot\nAllow: *****************/****.js\n"
)
CASES += [
    (
        f"{PR} test_allowed",
        "User-agent: * \nDisallow: /disallowed \nAllow: /allowed \nCrawl-delay: 10",
        "anybot",
        "https://www.site.local/allowed",
        True,
    ),
    (
        f"{PR} test_allowed",
        "User-agent: * \nDisallow: /disallowed \nAllow: /allowed \nCrawl-delay: 10",
        "anybot",
        "https://www.site.local/disallowed",
        False,
    ),
    (
        f"{PR} test_allowed",
        "User-agent: * \nDisallow: /d \nCrawl-delay: 10",
        "anybot",
        "https://www.site.local/abc/d",
        True,
    ),
    *[
        (
            f"{PR} test_malformed_disallow",
            "User-agent: * \nDisallow: /one \nDissallow: /two \nDissalow: /three \nDisalow: /four \nDiasllow: /five \nDisallaw: /six \n",
            "anybot",
            f"https://www.site.local/{word}",
            False,
        )
        for word in ("one", "two", "three", "four", "five", "six")
    ],
    (
        f"{PR} test_length_based_precedence",
        "User-agent: * \nDisallow: / \nAllow: /page",
        "anybot",
        "https://www.site.local/page",
        True,
    ),
    (
        f"{PR} test_length_based_precedence",
        "User-agent: * \nDisallow: / \nAllow: /page",
        "anybot",
        "https://www.site.local/elsewhere",
        False,
    ),
    (
        f"{PR} test_length_based_precedence",
        "user-agent: FooBot\ndisallow: /folder\nallow: /folder\n",
        "FooBot",
        "http://example.com/folder/page",
        True,
    ),
    (
        f"{PR} test_escaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a%3cd.html",
        "anybot",
        "https://www.site.local/a<d.html",
        True,
    ),
    (
        f"{PR} test_escaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a%3cd.html",
        "anybot",
        "https://www.site.local/a%3cd.html",
        True,
    ),
    (
        f"{PR} test_escaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a%3c*",
        "anybot",
        "https://www.site.local/a<d.html",
        True,
    ),
    (
        f"{PR} test_unescaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a<d.html",
        "anybot",
        "https://www.site.local/a<d.html",
        True,
    ),
    (
        f"{PR} test_unescaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a<d.html",
        "anybot",
        "https://www.site.local/a%3cd.html",
        True,
    ),
    (
        f"{PR} test_unescaped_url",
        "User-agent: * \nDisallow: / \nAllow: /a<*",
        "anybot",
        "https://www.site.local/a%3cd.html",
        True,
    ),
    (
        f"{PR} test_url_parts",
        "User-agent: * \nDisallow: /path;params?query \n",
        "anybot",
        "http://userinfo@exmaple.com:10/path;params?query#fragment",
        False,
    ),
    (
        f"{PR} test_url_parts",
        "User-agent: * \nDisallow: /? \n",
        "anybot",
        "http://e.com/?query",
        False,
    ),
    (f"{PR} test_url_parts", "User-agent: * \nDisallow: /? \n", "anybot", "http://e.com/", True),
    (
        f"{PR} test_url_parts",
        "User-agent: * \nDisallow: /; \n",
        "anybot",
        "http://e.com/;params",
        False,
    ),
    (f"{PR} test_empty_response", "", "chrome", "https://site.local/disallowed", True),
    (f"{PR} test_allowed_wildcards", PR_WILD, "first", "https://www.site.local/disallowed", True),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "first",
        "https://www.site.local/disallowed/xyz/end",
        False,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "first",
        "https://www.site.local/disallowed/xyz/endinglater",
        True,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "first",
        "https://www.site.local/protego_does_work",
        False,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "first",
        "https://www.site.local/rotego_does_work",
        True,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "first",
        "https://www.site.local/protego_does_wor",
        True,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "second",
        "https://www.site.local/is_still_allowed",
        True,
    ),
    (
        f"{PR} test_allowed_wildcards",
        PR_WILD,
        "second",
        "https://www.site.local/is_allowed_too",
        True,
    ),
    *[
        (f"{PR} test_allowed_wildcards", PR_RULES, bot, f"http://www.example.com{path}", allowed)
        for bot, path, allowed in [
            ("RuleOneTestBot", "/fo.html", True),
            ("RuleOneTestBot", "/foo.html", False),
            ("RuleOneTestBot", "/food", False),
            ("RuleOneTestBot", "/foo/bar.html", False),
            ("RuleTwoTestBot", "/fo.html", True),
            ("RuleTwoTestBot", "/foo/bar.html", False),
            ("RuleTwoTestBot", "/food/bar.html", False),
            ("RuleTwoTestBot", "/foo/a/b/c/x/y/z/bar.html", False),
            ("RuleTwoTestBot", "/food/xyz.html", True),
            ("RuleThreeTestBot", "/foo.htm", False),
            ("RuleThreeTestBot", "/foo.html", False),
            ("RuleThreeTestBot", "/foo", True),
            ("RuleThreeTestBot", "/foom", False),
            ("RuleThreeTestBot", "/moo", False),
            ("RuleThreeTestBot", "/foo/bar.html", False),
            ("RuleThreeTestBot", "/foo/bar.txt", True),
            ("RuleFourTestBot", "/fo.html", False),
            ("RuleFourTestBot", "/foo.html", False),
            ("RuleFourTestBot", "/foo", False),
            ("RuleFourTestBot", "/foo/bar.html", True),
            ("RuleFourTestBot", "/foo/bar.txt", False),
            ("RuleFiveTestBot", "/foo/bar.html", False),
            ("RuleFiveTestBot", "/food/rebar.html", False),
            ("RuleFiveTestBot", "/food/rebarf.html", True),
            ("RuleSixTestBot", "/foo", True),
            ("RuleSixTestBot", "/foo/", False),
            ("RuleSevenTestBot", "/foo/bar.js", True),
            ("RuleSevenTestBot", "/anything", True),
        ]
    ],
]
