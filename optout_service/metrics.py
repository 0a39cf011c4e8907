"""Prometheus metrics, one registry per app (so several apps can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from optout_service.outcomes import FetchOutcome


class Metrics:
    def count_policy_fetch(self, kind: str, outcome: FetchOutcome, truncated: bool) -> None:
        self.policy_fetches.labels(kind, outcome.value).inc()
        if truncated:
            self.policy_truncated.labels(kind).inc()

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "optout_decisions",
            "Decisions answered, by decision and first reason",
            ["decision", "reason"],
            registry=self.registry,
        )
        self.observations = Counter(
            "optout_observations",
            "Observations evaluated, by outcome and first reason",
            ["outcome", "reason"],
            registry=self.registry,
        )
        self.policy_fetches = Counter(
            "optout_policy_fetches",
            "Policy documents fetched, by kind and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.policy_truncated = Counter(
            "optout_policy_documents_truncated",
            "Policy documents longer than their cap (robots.max_bytes, fetch.max_bytes): "
            "only the part up to the cap was read",
            ["kind"],
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "optout_decision_batch_size",
            "URLs per POST /v1/decisions",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000),
            registry=self.registry,
        )
        self.log_group_size = Histogram(
            "optout_log_writes_per_commit",
            "Requests' writes (decision or observation batches, policy fetches) committed by "
            "one transaction of the decision log",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
