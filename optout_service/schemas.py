"""Request and response bodies of the v1 API (DESIGN.md fixes the shapes: add, never rename)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from optout_service.validation import HeaderValue, Line, Text

_TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"  # digits too: MJ12bot, AI2Bot, 360Spider
_MAX_BIGINT = 2**63 - 1


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    crawler: str = Field(pattern=_TOKEN_PATTERN, description="the crawler's product token")
    job: Line = Field(min_length=1, max_length=200)
    urls: list[Line] = Field(min_length=1)
    purposes: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None,
        max_length=8,
        description="what the data is for: train-ai, ai-input, search (default: the crawler's "
        "configured purposes)",
    )


class DecisionRead(BaseModel):
    id: str
    url: str
    normalized_url: str
    decision: Literal["allow", "deny"]
    reasons: list[str]
    crawl_delay: float | None
    licenses: list[str] = Field(
        default_factory=list,
        description="URLs to ask for permission (TDMRep tdm-policy, RSL licences)",
    )


class DecisionsRead(BaseModel):
    decisions: list[DecisionRead]


class AssetMetadata(BaseModel):
    """Embedded metadata the crawler extracted from a non-HTML asset (never the asset)."""

    model_config = ConfigDict(extra="ignore")

    format: Line | None = Field(default=None, max_length=32)
    xmp: Text | None = Field(default=None, max_length=256 * 1024)
    package_opf: Text | None = Field(default=None, max_length=256 * 1024)
    c2pa: list[dict[str, Any]] = Field(default_factory=list, max_length=64)
    errors: list[Annotated[Text, Field(max_length=500)]] = Field(
        default_factory=list, max_length=16
    )


class ObservationCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    decision_id: Line = Field(min_length=1, max_length=36)
    url: Line = Field(min_length=1, max_length=8192)
    final_url: Line = Field(min_length=1, max_length=8192)
    status: int = Field(ge=100, le=999)
    headers: list[tuple[Annotated[Line, Field(max_length=256)], HeaderValue]] = Field(
        default_factory=list, max_length=500
    )
    content_type: Line | None = Field(default=None, max_length=255)
    length: int = Field(ge=0, le=_MAX_BIGINT)  # stored in a BIGINT column
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    head_html: Text | None = Field(default=None, max_length=256 * 1024)
    # Added fields: the URLs the request was redirected through before ``final_url`` (first one
    # first), and what the crawler extracted from a non-HTML asset.
    redirect_urls: list[Annotated[Line, Field(max_length=8192)]] = Field(
        default_factory=list, max_length=20
    )
    metadata: AssetMetadata | None = None


class ObservationsCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    observations: list[ObservationCreate] = Field(min_length=1, max_length=1000)


class ObservationResultRead(BaseModel):
    decision_id: str
    outcome: Literal["keep", "discard"]
    reasons: list[str]


class ObservationsRead(BaseModel):
    results: list[ObservationResultRead]


class RobotsEvaluate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    robots_txt: Text | None = Field(default=None, max_length=2 * 1024 * 1024)
    robots_txt_b64: Line | None = Field(default=None, max_length=3 * 1024 * 1024)
    status: int | None = Field(default=None, ge=100, le=999)
    # A product token or a whole user-agent string, read down to the product token the crawl
    # path would match; one that names no crawler (empty, '*', a browser alone) is a 422.
    user_agent: Line = Field(max_length=500)
    # Empty URL: the path "/". Any scheme with a host (ftp://...), up to 64 KiB.
    url: Line = Field(max_length=64 * 1024)

    @model_validator(mode="after")
    def _one_source(self) -> RobotsEvaluate:
        if self.robots_txt is not None and self.robots_txt_b64 is not None:
            raise ValueError("give robots_txt or robots_txt_b64, not both")
        if self.robots_txt is None and self.robots_txt_b64 is None and self.status is None:
            raise ValueError("give robots_txt, robots_txt_b64 or status")
        return self


class RobotsMatch(BaseModel):
    line: int
    directive: str
    pattern: str


class RobotsEvaluation(BaseModel):
    allowed: bool
    reason: str
    matched: RobotsMatch | None
    crawl_delay: float | None = None
    sitemaps: list[str] = []
    product_token: str = Field(description="the product token the user_agent was read as")
    truncated: bool = Field(
        default=False,
        description="the body was longer than the crawler reads (robots.max_bytes); only its "
        "beginning was read, as when crawling",
    )


class RobotsInfo(BaseModel):
    origin: str
    outcome: str  # ok, client_error, server_error, timeout, network_error, ...
    status: int | None
    sha256: str | None
    crawl_delay: float | None
    request_rate: str | None
    sitemaps: list[str]
    groups_for_crawler: int  # robots.txt groups that apply to the crawler (0: none, all allowed)


class Health(BaseModel):
    status: Literal["ok"]


# The public self-check of every signal (DESIGN.md, POST /v1/signals/evaluate) ----------------
_MAX_DOCUMENT_CHARS = 2 * 1024 * 1024


class GivenFile(BaseModel):
    """A document as a fetch would have found it: a status and, for a 2xx, a body."""

    model_config = ConfigDict(extra="ignore")

    status: int = Field(default=200, ge=100, le=999)
    body: Text | None = Field(default=None, max_length=_MAX_DOCUMENT_CHARS)


class SignalOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    respect_noindex: bool = False


class SignalsEvaluate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: Line = Field(min_length=1, max_length=8192)
    user_agent: Line | None = Field(default=None, max_length=500)
    headers: (
        dict[Annotated[Line, Field(max_length=256)], HeaderValue]
        | list[tuple[Annotated[Line, Field(max_length=256)], HeaderValue]]
        | None
    ) = Field(default=None, max_length=500)
    body: Text | None = Field(default=None, max_length=_MAX_DOCUMENT_CHARS)
    files: (
        dict[Annotated[Line, Field(max_length=8192)], Text | GivenFile | None] | None
    ) = Field(default=None, max_length=16)
    package_opf: Text | None = Field(default=None, max_length=512 * 1024)
    xmp: Text | None = Field(default=None, max_length=512 * 1024)
    options: SignalOptions | None = None
    purposes: list[Annotated[str, Field(max_length=32)]] | None = Field(
        default=None, max_length=8
    )
    status: int | None = Field(default=None, ge=100, le=999)
    final_url: Line | None = Field(default=None, max_length=8192)


class TdmRead(BaseModel):
    reservation: Literal[0, 1] | None
    policy: str | None


class PurposeRead(BaseModel):
    reserved: bool
    state: Literal["reserved", "allowed", "unknown"]
    reasons: list[str]


class CrawlRead(BaseModel):
    allowed: bool
    reason: str


class FindingRead(BaseModel):
    check: str
    reason: str
    reserves: list[str]
    allows: list[str]
    license: str | None
    detail: str | None


class SignalsEvaluation(BaseModel):
    reserved: bool
    reasons: list[str]
    tdm: TdmRead
    by_purpose: dict[str, PurposeRead]
    licenses: list[str]
    crawl: CrawlRead | None = None
    purposes: list[str] = Field(description="the purposes the answer was read for")
    product_token: str = Field(description="the product token the user agent was read as")
    findings: list[FindingRead] = Field(
        default_factory=list, description="every statement read, check by check"
    )


class VerifyProblem(BaseModel):
    what: str = Field(
        description="edited | deleted | inserted | chain_broken | document_edited | truncated"
        " | checkpoint_mismatch | checkpoint_bad_signature | checkpoint_key_unknown"
    )
    kind: str = Field(
        description="decision | observation | fetch | genesis | document | checkpoint"
    )
    record_id: str
    seq: int | None = Field(None, description="the chain row, when there is one")
    detail: str = ""


class VerifyRead(BaseModel):
    ok: bool
    records: int = Field(description="chain rows checked")
    head: str | None = Field(None, description="the last chain value checked (hex)")
    by_kind: dict[str, int]
    not_covered: dict[str, int] = Field(
        description="rows written before the chain started: present, not covered"
    )
    checkpoints: int = Field(description="signed checkpoints verified")
    signed_seq: int | None = Field(None, description="the last chain row a checkpoint covers")
    unsigned: int = Field(description="chain rows after it, not yet covered by a signature")
    public_keys: list[str] | None = Field(
        None, description="the keys checkpoints had to be signed with (null: not pinned)"
    )
    problem: VerifyProblem | None = Field(None, description="the first thing found wrong")
