"""After the fetch: every asset check over what the crawler observed, one outcome each.

The same shape as the decision path: the route builds an :class:`Asset` per observation, this
engine fetches the documents the assets point to (an RSL licence named by a ``Link:
rel="license"`` header), runs every asset check (``optout_service.checks.ASSET_CHECKS``, in that
order) and combines the findings: ``discard`` when any of the crawl's purposes is reserved or
access was refused, with every reason that applies; ``keep`` (``content.unreserved`` when
nothing was found) otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from optout_service.checks.base import Asset, AssetCheck, Finding, refusal
from optout_service.checks.combine import combine
from optout_service.policy_store import PolicyStore
from optout_service.reasons import Reason

Outcome = Literal["keep", "discard"]


@dataclass(frozen=True, slots=True)
class AssetVerdict:
    outcome: Outcome
    reasons: tuple[str, ...]
    licenses: tuple[str, ...] = ()


class ObservationEngine:
    def __init__(self, store: PolicyStore, checks: Sequence[AssetCheck]) -> None:
        self._store = store
        self.checks = tuple(checks)

    async def evaluate(self, assets: Sequence[Asset]) -> list[AssetVerdict]:
        """Every asset's verdict, in order."""
        wanted = [self._wanted(asset) for asset in assets]
        # Only the assets that name other documents (RSL licences) wait for them; the others
        # are read at once, without a task each.
        waiting = [i for i, w in enumerate(wanted) if w]
        ready = list(assets)
        if waiting:
            fetched = await asyncio.gather(
                *(self._with_linked(assets[i], wanted[i]) for i in waiting)
            )
            for i, asset in zip(waiting, fetched, strict=True):
                ready[i] = asset
        return [self.read(asset) for asset in ready]

    def _wanted(self, asset: Asset) -> dict[tuple[str, str], None]:
        return dict.fromkeys(
            (kind, url) for check in self.checks for kind, url in check.linked(asset)
        )

    async def _with_linked(self, asset: Asset, wanted: dict[tuple[str, str], None]) -> Asset:
        entries = await asyncio.gather(*(self._store.get_url(url, kind) for kind, url in wanted))
        return replace(
            asset,
            linked={url: entry.document() for (_, url), entry in zip(wanted, entries, strict=True)},
        )

    def findings(self, asset: Asset) -> list[Finding]:
        """Every asset check's findings, in check order; a check that fails is a refusal
        (``check.failed``): a bug never lets a response be kept."""
        found: list[Finding] = []
        for check in self.checks:
            try:
                found.extend(check.check(asset))
            except Exception as exc:  # fail closed, and say which check
                found.append(refusal(Reason.CHECK_FAILED, f"{check.name}: {exc!r}"[:300]))
        return found

    def read(self, asset: Asset) -> AssetVerdict:
        combined = combine(self.findings(asset), tuple(asset.purposes))
        if combined.reserved:
            return AssetVerdict("discard", combined.reasons, combined.licenses)
        reasons = combined.reasons or (Reason.CONTENT_UNRESERVED.value,)
        return AssetVerdict("keep", reasons, combined.licenses)
