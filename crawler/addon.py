"""The Scrapy add-on: ``ADDONS = {"crawler.addon.ComplianceAddon": 0}`` switches compliance on.

It loads the ``COMPLIANCE_*`` defaults, enables the compliance middleware where Scrapy's own
robots.txt middleware would sit, switches that one off (the service decides robots.txt, and
Scrapy's middleware fails open: DESIGN.md), enables the progress display (``COMPLIANCE_PROGRESS``),
gives the crawl one job id, and makes the User-Agent carry the crawler's product token.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy.settings import SETTINGS_PRIORITIES

from crawler import settings as compliance_defaults

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

logger = logging.getLogger(__name__)

MIDDLEWARE_PRIORITY = 100  # where Scrapy's own robots.txt middleware sits
EXTENSION_PRIORITY = 500
_SCRAPY_PRIORITY_QUEUE = "scrapy.pqueues.DownloaderAwarePriorityQueue"
_OUR_PRIORITY_QUEUE = "crawler.scheduling.ComplianceAwarePriorityQueue"


def generate_job_id() -> str:
    """A job id that sorts by start time and does not collide: ``job-20261123T011500Z-3f9a1c``."""
    return f"job-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class ComplianceAddon:
    def update_settings(self, settings: BaseSettings) -> None:
        for name, value in compliance_defaults.defaults().items():
            settings.setdefault(name, value, priority="addon")
        if not settings.get("COMPLIANCE_JOB"):
            settings.set("COMPLIANCE_JOB", generate_job_id(), priority="addon")
        from crawler.middlewares.compliance import ComplianceMiddleware

        # Unless the project lists it already (by class or path, maybe as None to disable it).
        settings.setdefault_in_component_priority_dict(
            "DOWNLOADER_MIDDLEWARES", ComplianceMiddleware, MIDDLEWARE_PRIORITY
        )
        from crawler.progress import ProgressDisplay

        settings.setdefault_in_component_priority_dict(
            "EXTENSIONS", ProgressDisplay, EXTENSION_PRIORITY
        )
        # Pages of decided hosts first while the service is busy with new ones; a project
        # that chose its own priority queue keeps it.
        if (settings.getpriority("SCHEDULER_PRIORITY_QUEUE") or 0) <= SETTINGS_PRIORITIES[
            "default"
        ] and settings.get("SCHEDULER_PRIORITY_QUEUE") == _SCRAPY_PRIORITY_QUEUE:
            settings.set("SCHEDULER_PRIORITY_QUEUE", _OUR_PRIORITY_QUEUE, priority="addon")
        # Forced, at whatever priority asked for it: the service decides robots.txt. Scrapy's
        # own middleware fails open on fetch errors and under concurrency, and would fetch
        # robots.txt a second time.
        if settings.getbool("ROBOTSTXT_OBEY"):
            logger.info("ROBOTSTXT_OBEY switched off: the opt-out service decides robots.txt")
        current = settings.getpriority("ROBOTSTXT_OBEY") or 0
        settings.set("ROBOTSTXT_OBEY", False, priority=max(current, SETTINGS_PRIORITIES["addon"]))
        # Scrapy's remote-control server (an HTTP endpoint that runs Python code sent to it) and
        # telnet console let anyone holding their token change the crawl from outside, past
        # every check: off unless the project turns them on itself.
        for name in ("REMOTE_CONTROL_ENABLED", "TELNETCONSOLE_ENABLED"):
            if (settings.getpriority(name) or 0) <= SETTINGS_PRIORITIES["default"]:
                settings.set(name, False, priority="addon")
        token = str(settings.get("COMPLIANCE_CRAWLER_TOKEN") or "")
        if (settings.getpriority("USER_AGENT") or 0) <= SETTINGS_PRIORITIES["default"]:
            settings.set("USER_AGENT", f"{token}/0.1 (+compliance crawler)", priority="addon")
        elif token.lower() not in str(settings.get("USER_AGENT") or "").lower():
            logger.warning(
                "USER_AGENT %r does not contain the product token %r that robots.txt rules are "
                "matched against",
                settings.get("USER_AGENT"),
                token,
            )
