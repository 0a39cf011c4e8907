"""Service configuration: one pydantic-settings class, read from ``OPTOUT_*`` variables.

Nested groups use ``__`` (``OPTOUT_DATABASE__URL``). Nothing here connects to anything; the
settings object is handed explicitly to :func:`optout_service.main.create_app`.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from optout_service.purposes import parse_purposes

Scope = Literal["crawl", "audit", "admin"]

_MAX_ROBOTS_CACHE_SECONDS = 24 * 3600  # RFC 9309 2.4: caches SHOULD NOT be used for more than 24 h


class DatabaseSettings(BaseModel):
    url: str = "sqlite:///var/optout.sqlite3"
    echo: bool = False
    # SQLite only: WAL keeps committed transactions across a killed process; FULL also
    # survives power loss at the cost of an fsync per commit.
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    migrate_on_startup: bool | None = None  # None: yes for SQLite, no for other databases

    @field_validator("url")
    @classmethod
    def _use_psycopg_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @property
    def should_migrate_on_startup(self) -> bool:
        if self.migrate_on_startup is None:
            return self.is_sqlite
        return self.migrate_on_startup


class CrawlerIdentity(BaseModel):
    # The product token our crawler announces in its User-Agent and looks for in robots.txt.
    token: str = "ExampleBot"
    # What the data is for, when a request names no purposes: train-ai, ai-input, search.
    purposes: list[str] = Field(default_factory=lambda: ["train-ai"], min_length=1)

    @field_validator("token")
    @classmethod
    def _product_token(cls, value: str) -> str:
        if not value or not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
            raise ValueError("a product token is one or more of the characters A-Z a-z 0-9 - _")
        return value

    @field_validator("purposes")
    @classmethod
    def _known_purposes(cls, value: list[str]) -> list[str]:
        return [p.value for p in parse_purposes(value)]


class CheckSettings(BaseModel):
    # Checks switched off by name (optout_service/checks/__init__.py lists them). Switching a
    # check off makes the service read fewer reservations: the crawler page says which.
    disabled: list[str] = Field(default_factory=list)
    # A robots.txt group that shuts out well-known AI-training crawlers reserves its paths
    # against ours too (robots.ai_crawlers_reserved).
    ai_crawler_profile: bool = True
    # Read noindex/none in X-Robots-Tag and robots meta as a reservation as well.
    respect_noindex: bool = False


class FetchSettings(BaseModel):
    allow_private_networks: bool = False
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    total_timeout: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=512 * 1024, ge=500 * 1024)  # RFC 9309 2.5: parse >= 500 KiB
    max_redirects: int = Field(default=5, ge=5, le=20)  # RFC 9309 2.3.1.2: at least five
    user_agent: str | None = None  # default: "<token>/<version> (robots.txt fetcher)"
    max_connections: int = Field(default=100, ge=1)
    # DNS suffixes of the operator's internal names (e.g. "corp.example.com"): refused like
    # "localhost", also for URLs sent through a proxy (which resolves names itself).
    internal_name_suffixes: list[str] = Field(default_factory=list)


class RobotsSettings(BaseModel):
    # The body cap of robots.txt (and of the other documents read with its syntax): far above
    # RFC 9309's 500 KiB floor, so that the rules of a long file are all read. A longer file is
    # read up to the cap and counted (optout_policy_documents_truncated_total).
    max_bytes: int = Field(default=8 * 1024 * 1024, ge=500 * 1024)
    cache_seconds: float = Field(default=_MAX_ROBOTS_CACHE_SECONDS, gt=0)
    # A failed fetch (5xx, network) is itself cached briefly so a dead origin is not hammered;
    # the origin stays fully disallowed meanwhile.
    error_cache_seconds: float = Field(default=300.0, gt=0)
    max_cached_origins: int = Field(default=100_000, ge=1)
    # Byte budgets of the two caches (docs/robots.md, "Budgets"): parsed files are counted once
    # each by their estimated size, origins by their entry. An entry larger than its whole budget
    # is used for the answer at hand and not kept.
    parsed_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    origin_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Worker threads that may parse (or evaluate big) robots.txt files at once, so that a burst
    # of large files cannot take every thread of the pool.
    parse_concurrency: int = Field(default=4, ge=1, le=64)
    # Estimated peak memory of the parses under way at once (32 bytes per byte of input plus
    # 1 MiB each; optout_service/parse_budget.py): one file of max_bytes runs alone.
    parse_memory_bytes: int = Field(default=256 * 1024 * 1024, ge=16 * 1024 * 1024)

    @field_validator("cache_seconds")
    @classmethod
    def _at_most_a_day(cls, value: float) -> float:
        if value > _MAX_ROBOTS_CACHE_SECONDS:
            raise ValueError("robots.txt may be cached for at most 24 hours (RFC 9309 2.4)")
        return value


class PiracySettings(BaseModel):
    # Paths of list files to load; empty means the lists bundled with piracy_lists (demo excluded).
    lists: list[Path] = Field(default_factory=list)


class ApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:@-]+$")
    # Either the key itself or its sha256 hex digest (preferred: the secret is not in the config).
    key: SecretStr | None = None
    sha256: str | None = None
    scopes: list[Scope]

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key is None) == (self.sha256 is None):
            raise ValueError(f"api key {self.name!r}: give exactly one of 'key' or 'sha256'")
        if self.sha256 is not None and len(self.sha256) != 64:
            raise ValueError(f"api key {self.name!r}: 'sha256' must be 64 hex characters")
        return self

    def digest(self) -> str:
        if self.sha256 is not None:
            return self.sha256.lower()
        assert self.key is not None
        return hashlib.sha256(self.key.get_secret_value().encode()).hexdigest()


class AuthSettings(BaseModel):
    api_keys: list[ApiKey] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> AuthSettings:
        # Records are attributed to a key by name, and keys are found by digest: both unique.
        names = [key.name for key in self.api_keys]
        if len(set(names)) != len(names):
            raise ValueError("api key names must be unique: records are attributed by name")
        digests = [key.digest() for key in self.api_keys]
        if len(set(digests)) != len(digests):
            raise ValueError("two api keys have the same secret")
        return self


class ApiSettings(BaseModel):
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    max_urls_per_request: int = Field(default=1000, ge=1)
    max_url_length: int = Field(default=8192, ge=256)
    # The public, keyless routes (self-checks): a smaller body (a robots.txt is parsed up to
    # 512 KiB), a request rate per client address (token bucket; 0 switches it off) and a time
    # budget per request.
    public_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    public_requests_per_minute: float = Field(default=120.0, ge=0)
    public_burst: int = Field(default=30, ge=1)
    public_time_budget_seconds: float = Field(default=10.0, gt=0)
    # Bytes of recent decisions kept in memory, so that an observation rarely needs a query
    # (repository.RecentDecisions; a miss reads the table).
    recent_decisions_bytes: int = Field(default=8 * 1024 * 1024, ge=0)
    # Seconds between two returns of freed memory to the system (optout_service/heap.py, glibc's
    # malloc_trim); 0 switches it off.
    memory_trim_seconds: float = Field(default=30.0, ge=0)


class AuditSettings(BaseModel):
    # The Ed25519 key that signs checkpoints of the log's chain: the 32-byte private seed in
    # hex. None: no checkpoints are written (the chain still is; docs/audit-log.md).
    signing_key: SecretStr | None = None
    # A checkpoint after this many chained records, or this many seconds after the last one
    # when records came since (and when the service stops).
    # Public keys (hex) of earlier signing keys whose checkpoints still verify (key rotation).
    trusted_public_keys: list[str] = Field(default_factory=list)
    checkpoint_records: int = Field(default=10_000, ge=1)
    checkpoint_seconds: float = Field(default=60.0, gt=0)

    @field_validator("signing_key")
    @classmethod
    def _ed25519_seed(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        text = value.get_secret_value().strip()
        try:
            seed = bytes.fromhex(text)
        except ValueError:
            raise ValueError("the signing key must be 64 hex digits (an Ed25519 seed)") from None
        if len(seed) != 32:
            raise ValueError("the signing key must be 64 hex digits (an Ed25519 seed)")
        return SecretStr(text.lower())

    def verifying_keys(self) -> list[str] | None:
        """The keys checkpoints must be signed with; None when none is configured (every
        signature is still checked, against the key the checkpoint names)."""
        keys = [key.strip().lower() for key in self.trusted_public_keys if key.strip()]
        if self.signing_key is not None:
            from optout_service.chain import Signer

            keys.append(Signer(self.signing_key.get_secret_value()).public_key)
        return keys or None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPTOUT_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    environment: Literal["development", "test", "production"] = "development"
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    crawler: CrawlerIdentity = Field(default_factory=CrawlerIdentity)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    robots: RobotsSettings = Field(default_factory=RobotsSettings)
    piracy: PiracySettings = Field(default_factory=PiracySettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    checks: CheckSettings = Field(default_factory=CheckSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @property
    def fetcher_user_agent(self) -> str:
        from optout_service import __version__

        return self.fetch.user_agent or f"{self.crawler.token}/{__version__} (robots.txt fetcher)"


@lru_cache
def get_settings() -> Settings:
    """The settings of this process, read once from the environment."""
    return Settings()


def generate_api_key() -> str:
    return secrets.token_urlsafe(32)
