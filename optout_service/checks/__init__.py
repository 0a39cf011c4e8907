"""The checks, and their order: data in one place.

Site checks run before the fetch (``SITE_CHECKS``), asset checks after it (``ASSET_CHECKS``);
each entry names a class ``module:Class`` constructible with no arguments (or with the service
settings, through an optional ``from_settings`` classmethod). Every check of a list runs for every
URL (the answer lists every reason that applies); the order is the order of the reasons in the
answer. The piracy list is not in this list: it runs first, in the engine, because a listed host
must never be contacted, not even for its robots.txt.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optout_service.checks.base import AssetCheck, SiteCheck

if TYPE_CHECKING:
    from optout_service.config import Settings

# Policy documents: kind -> (path on the origin, or None for documents fetched by URL; parser).
# The parser's module states the kind's fail-closed rule.
DOCUMENT_KINDS: dict[str, tuple[str | None, str]] = {
    "robots_txt": ("/robots.txt", "optout_service.policy.robots:RobotsRules"),
    "tdmrep": ("/.well-known/tdmrep.json", "optout_service.checks.tdmrep:parse_tdmrep"),
    "ai_txt": ("/ai.txt", "optout_service.checks.ai_txt:parse_ai_txt"),
    "rsl": (None, "optout_service.checks.rsl:parse_rsl"),  # licences named by robots.txt, Link
}

# Before the fetch, in this order (after the piracy list).
SITE_CHECKS: tuple[str, ...] = (
    "optout_service.checks.registry:RegistryCheck",  # reservations of verified rights holders
    "optout_service.checks.robots:RobotsCheck",  # RFC 9309
    "optout_service.checks.aipref:ContentUsageCheck",  # IETF AIPREF, robots.txt Content-Usage
    "optout_service.checks.content_signal:ContentSignalCheck",  # robots.txt Content-Signal
    "optout_service.checks.tdmrep:TdmRepSiteCheck",  # W3C TDMRep /.well-known/tdmrep.json
    "optout_service.checks.ai_txt:AiTxtCheck",  # Spawning ai.txt
    "optout_service.checks.rsl:RslSiteCheck",  # RSL licences named by robots.txt License:
    "optout_service.checks.ai_crawlers:AiCrawlersCheck",  # groups shutting out AI crawlers
)

# After the fetch, in this order.
ASSET_CHECKS: tuple[str, ...] = (
    "optout_service.checks.access:AccessCheck",  # 401/402/403, login walls, paywall markup
    "optout_service.checks.tdmrep:TdmRepAssetCheck",  # tdm-reservation header and meta
    "optout_service.checks.robots_tags:RobotsTagsCheck",  # X-Robots-Tag, robots meta noai
    "optout_service.checks.aipref:ContentUsageHeaderCheck",  # Content-Usage response header
    "optout_service.checks.rsl:RslAssetCheck",  # Link: rel="license" to an RSL licence
    "optout_service.checks.embedded:EmbeddedMetadataCheck",  # XMP, EPUB, IPTC PLUS, C2PA
)


def load_object(path: str) -> Any:
    """The object a ``module:name`` path names."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _build(path: str, settings: Settings | None) -> Any:
    cls = load_object(path)
    factory = getattr(cls, "from_settings", None)
    if settings is not None and factory is not None:
        return factory(settings)
    return cls()


def site_checks(
    settings: Settings | None = None, paths: Sequence[str] = SITE_CHECKS
) -> list[SiteCheck]:
    """The site checks in order, without those the settings switch off."""
    disabled = set(settings.checks.disabled) if settings is not None else set()
    checks: list[SiteCheck] = [_build(path, settings) for path in paths]
    return [check for check in checks if check.name not in disabled]


def asset_checks(
    settings: Settings | None = None, paths: Sequence[str] = ASSET_CHECKS
) -> list[AssetCheck]:
    """The asset checks in order, without those the settings switch off."""
    disabled = set(settings.checks.disabled) if settings is not None else set()
    checks: list[AssetCheck] = [_build(path, settings) for path in paths]
    return [check for check in checks if check.name not in disabled]
