"""Reservations registered by verified rights holders: the slot in the order of site checks.

A rights holder who proved control of a domain can register reservations (the whole domain or
path patterns, per purpose) that are honoured as ``registry.reserved``. The register itself and
its proof of control come with the rights-holder pages; until then this check reads an empty
register and finds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from optout_service.checks.base import Finding, NoLinks, Site


class RegistryCheck(NoLinks):
    name = "registry"
    documents: tuple[str, ...] = ()

    def check(self, site: Site, path_query: str) -> Iterable[Finding]:
        return ()
