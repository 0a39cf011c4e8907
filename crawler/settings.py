"""Default values of every ``COMPLIANCE_*`` Scrapy setting.

Keep this list alphabetical, and document each setting where it is defined. The add-on loads these
at "addon" priority, so a project, a spider or the command line overrides any of them.
"""

from __future__ import annotations

import copy
from typing import Any

# API key sent as ``Authorization: Bearer`` in served mode (embedded mode makes its own).
COMPLIANCE_API_KEY = ""

# Seconds a request waits at most for others to share its call to the service (a batch as large
# as CONCURRENT_REQUESTS goes at once). 10 ms is small against a network round trip; measured on
# benchmarks/crawl.py it fills batches (16 instead of ~6) and cuts CPU per page by about a sixth.
COMPLIANCE_BATCH_DELAY = 0.01

# At most this many URLs per call to POST /v1/decisions (and observations per call to
# POST /v1/observations); never more than CONCURRENT_REQUESTS.
COMPLIANCE_BATCH_SIZE = 64

# The product token of this crawler: what robots.txt rules are matched against.
COMPLIANCE_CRAWLER_TOKEN = "ExampleBot"

# SQLAlchemy URL of the embedded service's database (embedded mode only).
COMPLIANCE_EMBEDDED_DATABASE_URL = "sqlite:///var/optout.sqlite3"

# How the embedded service runs: "process" (default) starts it as a child process of the crawl
# (`python -m optout_service.cli serve` on a Unix socket in a private temporary directory), so the
# crawl and its decisions use a core each; "thread" runs it in this process on a thread of its
# own, sharing the interpreter lock with the crawl. Measured on 2 cores (README, "Crawling for
# real"): process mode is as fast on a synthetic web and about a fifth faster on real robots.txt
# files, with the crawl's process a quarter lighter; thread mode starts ~0.5 s sooner and needs
# no second interpreter: the choice for a few pages or a single core. The child stops with the
# crawl, also when the crawl's process is killed (crawler/embedded.py).
COMPLIANCE_EMBEDDED_MODE = "process"

# Read the reservations embedded in non-HTML responses (PDF XMP, EPUB package documents, image
# XMP and C2PA / CAWG training-mining assertions; crawler/metadata.py, in a worker thread) and
# send them, never the asset, with the observation. Off: such assets are judged by their headers.
COMPLIANCE_EMBEDDED_METADATA = True

# Nested overrides of the embedded service's settings, e.g.
# {"fetch": {"allow_private_networks": True}, "piracy": {"lists": ["my-list.toml"]}}.
COMPLIANCE_EMBEDDED_SETTINGS: dict[str, Any] = {}

# Switch the compliance middleware off (only for crawls that keep nothing: it fails closed).
COMPLIANCE_ENABLED = True

# Freeze the heap once the crawl's engine has started (and again once an embedded service in
# this process has): gc.freeze() takes the objects built at start-up out of every later garbage
# collection. The middleware keeps requests alive longer than plain Scrapy, so full collections
# run more often; frozen, each walks a fraction of the heap (docs/performance.md: 1.19 -> 0.36
# ms of collector time per page on the corpus web). Off: the collector runs as Python set it.
COMPLIANCE_GC_FREEZE = True

# Bytes of an HTML response's start searched for </head>, sent to the service with the observation.
COMPLIANCE_HEAD_MAX_BYTES = 65536

# Job id recorded with every decision and used to export the decision log; when left empty, the
# add-on generates one ("job-<UTC time>-<random>") so every component of the crawl sees the same.
COMPLIANCE_JOB = ""

# File the job's decision log is exported to (JSONL) when the spider closes; empty: no export.
# optout-crawl leaves it empty and exports the log itself once the crawl has ended, whatever way
# (a forced stop never closes the spider).
COMPLIANCE_LOG_EXPORT = ""

# Seconds between two requests to one host at most: a host whose robots.txt asks for a longer
# Crawl-delay (or Request-rate) is skipped, its requests refused before they are made and counted
# as compliance/skipped/crawl_delay.too_long (never crawled faster than it asks). The real-world
# corpus has delays of minutes to a day, which would leave a crawl idling on a few hosts to the
# end of its time budget. 0 switches the limit off.
COMPLIANCE_MAX_CRAWL_DELAY = 60.0

# What the data is for, sent with every decision request: any of "train-ai", "ai-input",
# "search" (a list, or a comma-separated string). Empty: the service's configured purposes
# (OPTOUT_CRAWLER__PURPOSES, train-ai by default). Reservations are read for these purposes.
COMPLIANCE_PURPOSES: list[str] = []

# Directory and format ("warc" or "jsonl") of the kept responses written by OutputPipeline.
COMPLIANCE_OUTPUT_DIR = "out"
COMPLIANCE_OUTPUT_FORMAT = "warc"

# The progress display during the crawl (crawler.progress.ProgressDisplay): "log" writes a log
# line every COMPLIANCE_PROGRESS_INTERVAL seconds; "live" shows a table on the terminal, updated
# every second; "auto" is "live" when stdout is a terminal and "log" otherwise (optout-crawl's
# choice); "off" shows nothing. Each shows pages fetched, kept and refused, and the hosts whose
# requests wait on a crawl delay (how many requests, how long the delay).
COMPLIANCE_PROGRESS = "log"
COMPLIANCE_PROGRESS_INTERVAL = 60.0

# First backoff in seconds between retries of a failed call to the service (doubled each time).
COMPLIANCE_SERVICE_BACKOFF = 0.5

# Retries of a call to the service before its requests are dropped as service.unavailable.
COMPLIANCE_SERVICE_RETRIES = 3

# Timeout in seconds of one call to the service.
COMPLIANCE_SERVICE_TIMEOUT = 10.0

# Base URL of the opt-out service; empty means run it embedded (COMPLIANCE_EMBEDDED_MODE).
COMPLIANCE_SERVICE_URL = ""

# Requests waiting for the service (for their decision, or their response for its verdict)
# that do not count against CONCURRENT_REQUESTS, so that the engine starts others meanwhile (at
# most this many at once; None: as many as CONCURRENT_REQUESTS; 0: none). Transfers at once stay
# within CONCURRENT_REQUESTS (a decided request waits for room), per-domain limits and crawl
# delays are untouched (crawler/middlewares/compliance.py).
COMPLIANCE_WAITING_REQUESTS: int | None = None
# How many hosts without a decision yet may wait for one (the service fetching their policy
# documents) before the priority queue hands out pages of hosts already decided first
# (crawler/scheduling.py; only with the add-on's priority queue). 0: no limit, Scrapy's order.
COMPLIANCE_NEW_ORIGINS = 32


def defaults() -> dict[str, Any]:
    """Every ``COMPLIANCE_*`` name of this module with its default value."""
    return {
        name: copy.deepcopy(value)  # a crawl must not be able to change the next one's defaults
        for name, value in globals().items()
        if name.startswith("COMPLIANCE_")
    }
