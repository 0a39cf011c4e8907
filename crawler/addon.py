"""The Scrapy add-on: ``ADDONS = {"crawler.addon.ComplianceAddon": 0}`` switches compliance on."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.settings import SETTINGS_PRIORITIES

from crawler import settings as compliance_defaults

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MIDDLEWARE_PRIORITY = 100  # where Scrapy's own robots.txt middleware sits


class ComplianceAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in compliance_defaults.defaults().items():
            settings.setdefault(name, value, priority="addon")
        from crawler.middlewares.compliance import ComplianceMiddleware

        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ComplianceMiddleware, MIDDLEWARE_PRIORITY
        )
        # The service decides robots.txt. Scrapy's own middleware fails open on fetch errors and
        # under concurrency, and would fetch robots.txt a second time.
        if settings.getbool("ROBOTSTXT_OBEY"):
            logger.info("ROBOTSTXT_OBEY switched off: the opt-out service decides robots.txt")
        current = settings.getpriority("ROBOTSTXT_OBEY") or 0
        settings.set("ROBOTSTXT_OBEY", False, priority=max(current, SETTINGS_PRIORITIES["addon"]))
        token = settings.get("COMPLIANCE_CRAWLER_TOKEN")
        if settings.getpriority("USER_AGENT") in (None, 0):
            settings.set("USER_AGENT", f"{token}/0.1 (+compliance crawler)", priority="addon")
        elif token and token.lower() not in str(settings.get("USER_AGENT")).lower():
            logger.warning(
                "USER_AGENT %r does not contain the product token %r that robots.txt rules are "
                "matched against",
                settings.get("USER_AGENT"),
                token,
            )
