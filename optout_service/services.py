"""Everything a request needs, built once by the app's lifespan and torn down with it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from anyio import to_thread

from optout_service.chain import Checkpointer, Signer
from optout_service.checks import DOCUMENT_KINDS, asset_checks, load_object, site_checks
from optout_service.checks.rsl import MAX_RSL_BYTES
from optout_service.config import ApiKey, Settings
from optout_service.db import Database
from optout_service.decisions import DecisionEngine
from optout_service.fetcher import PolicyFetcher
from optout_service.log_writer import LogWriter
from optout_service.metrics import Metrics
from optout_service.observations import ObservationEngine
from optout_service.policy_store import DocumentKind, PolicyStore
from optout_service.repository import DecisionLog, RecentDecisions, Repository
from piracy_lists import PiracyMatcher, bundled_lists, load_list


@dataclass
class Services:
    settings: Settings
    database: Database
    repository: Repository
    writer: LogWriter
    log: DecisionLog
    fetcher: PolicyFetcher
    store: PolicyStore
    engine: DecisionEngine
    observer: ObservationEngine
    piracy: PiracyMatcher
    metrics: Metrics
    api_keys: dict[str, ApiKey]  # by sha256 of the key
    recent: RecentDecisions

    @classmethod
    def build(
        cls, settings: Settings, *, fetch_transport: httpx.AsyncBaseTransport | None = None
    ) -> Services:
        """Build the services; the log writer's thread starts here, ``aclose`` stops it."""
        database = Database(settings.database)
        repository = Repository(database.sessions)
        metrics = Metrics()
        audit = settings.audit
        checkpoints = (
            Checkpointer(
                Signer(audit.signing_key.get_secret_value()),
                records=audit.checkpoint_records,
                seconds=audit.checkpoint_seconds,
            )
            if audit.signing_key is not None
            else None
        )
        writer = LogWriter(
            database.engine, on_commit=metrics.log_group_size.observe, checkpoints=checkpoints
        )
        log = DecisionLog(writer, database.engine.dialect)
        fetcher = PolicyFetcher(
            settings.fetch, settings.fetcher_user_agent, transport=fetch_transport
        )
        lists = (
            [load_list(path) for path in settings.piracy.lists]
            if settings.piracy.lists
            else bundled_lists()
        )
        piracy = PiracyMatcher(lists)
        store = PolicyStore(
            fetcher,
            log,
            settings.robots,
            document_kinds(settings),
            on_fetch=metrics.count_policy_fetch,
            never_contact=lambda host: piracy.match(host) is not None,
        )
        writer.start()
        return cls(
            settings=settings,
            database=database,
            repository=repository,
            writer=writer,
            log=log,
            fetcher=fetcher,
            store=store,
            engine=DecisionEngine(piracy, store, site_checks(settings)),
            observer=ObservationEngine(store, asset_checks(settings)),
            piracy=piracy,
            metrics=metrics,
            api_keys={key.digest(): key for key in settings.auth.api_keys},
            recent=RecentDecisions(settings.api.recent_decisions_bytes),
        )

    @property
    def robots(self) -> PolicyStore:
        """The policy store (its older name, from when it held robots.txt files only)."""
        return self.store

    async def aclose(self) -> None:
        await self.fetcher.aclose()
        # What is queued is committed (its requests are answered), then the thread ends.
        await to_thread.run_sync(self.writer.close)
        self.database.dispose()


def document_kinds(settings: Settings) -> list[DocumentKind]:
    """Every kind read with the robots.txt cap, except RSL licences: one byte over the size a
    licence may have is enough to refuse it (a cut XML document is not read)."""
    caps = {"rsl": MAX_RSL_BYTES + 1}
    return [
        DocumentKind(
            name,
            path,
            load_object(parser),
            max_bytes=caps.get(name, settings.robots.max_bytes),
        )
        for name, (path, parser) in DOCUMENT_KINDS.items()
    ]
