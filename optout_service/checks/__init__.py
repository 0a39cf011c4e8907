"""The checks, and their order: data in one place.

Site checks run before the fetch (``SITE_CHECKS``), asset checks after it (``ASSET_CHECKS``);
each entry names a class ``module:Class`` constructible with no arguments (or with the service
settings, through an optional ``from_settings`` classmethod). Every check of a list runs for every
URL (the answer lists every reason that applies); the order is the order of the reasons in the
answer. The piracy list is not in this list: it runs first, in the engine, because a listed host
must never be contacted, not even for its robots.txt.
"""

from __future__ import annotations
