"""Names of the Scrapy stats the compliance middleware keeps besides its counters.

The counters are ``compliance/<decision>/<reason>`` (README, "Reason codes"); these hold what a
report needs to explain them. Every value is JSON-serialisable.
"""

from __future__ import annotations

# The last error behind a service.unavailable refusal, as text.
SERVICE_UNAVAILABLE_DETAIL = "compliance/service_unavailable_detail"
# The last error behind a service.rejected refusal, as text, and its HTTP status.
SERVICE_REJECTED_DETAIL = "compliance/service_rejected_detail"
SERVICE_REJECTED_STATUS = "compliance/service_rejected_status"
# Hosts skipped for crawl_delay.too_long: {host: {"crawl_delay": seconds, "requests": count}}.
SKIPPED_HOSTS = "compliance/skipped_hosts"
# The Unix time at which the spider started closing.
CLOSING_STARTED = "compliance/closing_started"
# COMPLIANCE_MAX_CRAWL_DELAY of the crawl, recorded when a host is skipped for it.
MAX_CRAWL_DELAY = "compliance/max_crawl_delay"
