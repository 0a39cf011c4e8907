"""The hash chain over the log, on SQLite and PostgreSQL: a real crawl's records verify, the
chain can be recomputed from its rows alone, and every kind of tampering is caught and named."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from typer.testing import CliRunner

from optout_service import cli
from optout_service.chain import START, Signer, checkpoint_message, verify
from optout_service.config import get_settings
from optout_service.main import create_app
from optout_service.models import LogCheckpoint
from optout_service.services import Services
from tests.unit.optout_service.conftest import AUDIT_KEY, CRAWL_KEY, FakeWeb, make_settings


@asynccontextmanager
async def _served(
    tmp_path: Path, fakeweb: FakeWeb, database_url: str, **settings: object
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app on the test's database with a fake web under it, and a crawl-key client."""
    app = create_app(
        make_settings(tmp_path, database={"url": database_url}, **settings),
        fetch_transport=httpx.MockTransport(fakeweb.handler),
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://service.test",
            headers={"Authorization": f"Bearer {CRAWL_KEY}"},
        ) as client,
    ):
        yield app, client


@pytest.fixture
async def served(
    tmp_path: Path, fakeweb: FakeWeb, database_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with _served(tmp_path, fakeweb, database_url) as pair:
        yield pair


@pytest.fixture
def app(served: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return served[0]


@pytest.fixture
def http(served: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return served[1]


def engine_of(app: FastAPI) -> sa.Engine:
    services: Services = app.state.services
    return services.database.engine


async def crawl(http: httpx.AsyncClient, fakeweb: FakeWeb) -> dict[str, Any]:
    """Decisions over two origins (robots.txt, tdmrep.json), observations of the allowed."""
    fakeweb.routes["http://news.example.com/robots.txt"] = httpx.Response(
        200, text="User-agent: *\nDisallow: /private\nCrawl-delay: 2\n"
    )
    fakeweb.routes["http://news.example.com/.well-known/tdmrep.json"] = httpx.Response(
        200, json=[{"location": "/reserved/*", "tdm-reservation": 1}]
    )
    fakeweb.routes["http://blog.example.org/robots.txt"] = httpx.Response(200, text="")
    urls = [
        "http://news.example.com/a",
        "http://news.example.com/private/b",
        "http://news.example.com/reserved/c",
        "http://blog.example.org/é",
    ]
    response = await http.post(
        "/v1/decisions",
        json={"crawler": "ExampleBot", "job": "job-chain", "urls": urls, "purposes": ["train-ai"]},
    )
    assert response.status_code == 200, response.text
    decisions = response.json()["decisions"]
    allowed = [d for d in decisions if d["decision"] == "allow"]
    observations = [
        {
            "decision_id": d["id"],
            "url": d["url"],
            "final_url": d["url"],
            "status": 200,
            "headers": [["Content-Type", "text/html; charset=utf-8"], ["X-Note", "café"]],
            "content_type": "text/html",
            "length": 12,
            "sha256": "cd" * 32,
            "head_html": "<head><title>t</title></head>",
        }
        for d in allowed
    ]
    observed = await http.post("/v1/observations", json={"observations": observations})
    assert observed.status_code == 200, observed.text
    return {
        "decisions": decisions,
        "denied": [d for d in decisions if d["decision"] == "deny"],
        "observations": observed.json()["results"],
    }


async def test_a_crawl_s_log_verifies_and_the_chain_recomputes_from_its_rows(
    app: FastAPI, http: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    done = await crawl(http, fakeweb)
    engine = engine_of(app)
    seen: list[int] = []
    report = verify(engine, batch=3, progress=seen.append)
    assert report.ok, report.problem
    assert report.by_kind["decision"] == len(done["decisions"]) == 4
    assert report.by_kind["observation"] == len(done["observations"]) == 2
    assert report.by_kind["fetch"] >= 3  # robots.txt twice, tdmrep.json, the 404s of the rest
    assert seen == sorted(seen)
    assert seen[-1] == report.records
    # What a third party does with the rows alone: sha256(previous || digest), row by row.
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text("SELECT digest, chain FROM log_chain ORDER BY seq")))
    previous = START
    for digest, chain in rows:
        previous = hashlib.sha256(previous + bytes.fromhex(digest)).digest()
        assert previous.hex() == chain
    assert report.head == rows[-1][1]


def _swap_two_chain_rows(connection: sa.Connection) -> tuple[str, str]:
    first, second = list(
        connection.execute(
            sa.text(
                "SELECT seq, record_id FROM log_chain WHERE kind = 'decision' ORDER BY seq LIMIT 2"
            )
        )
    )
    connection.execute(sa.text("UPDATE log_chain SET seq = -1 WHERE seq = :s"), {"s": first.seq})
    connection.execute(
        sa.text("UPDATE log_chain SET seq = :a WHERE seq = :b"), {"a": first.seq, "b": second.seq}
    )
    connection.execute(sa.text("UPDATE log_chain SET seq = :b WHERE seq = -1"), {"b": second.seq})
    return "chain_broken", second.record_id  # now first in the order


def _edit_a_decision(connection: sa.Connection, denied: str) -> tuple[str, str]:
    connection.execute(
        sa.text("UPDATE decision SET decision = 'allow', reasons = '[]' WHERE id = :id"),
        {"id": denied},
    )
    return "edited", denied


def _delete_an_observation(connection: sa.Connection) -> tuple[str, str]:
    victim = connection.execute(
        sa.text("SELECT id FROM observation ORDER BY seq LIMIT 1")
    ).scalar_one()
    connection.execute(sa.text("DELETE FROM observation WHERE id = :id"), {"id": victim})
    return "deleted", str(victim)


def _insert_a_decision(connection: sa.Connection) -> tuple[str, str]:
    connection.execute(
        sa.text(
            "INSERT INTO decision (id, created_at, job, api_key, crawler, url, host, decision,"
            " reasons) SELECT 'forged-decision', created_at, job, api_key, crawler,"
            " 'http://news.example.com/private/x', host, 'allow', reasons FROM decision"
            " ORDER BY seq LIMIT 1"
        )
    )
    return "inserted", "forged-decision"


def _unlink_a_document(connection: sa.Connection) -> tuple[str, str]:
    decision_id, fetch_id = connection.execute(
        sa.text("SELECT decision_id, fetch_id FROM decision_document ORDER BY fetch_id LIMIT 1")
    ).one()
    connection.execute(
        sa.text("DELETE FROM decision_document WHERE decision_id = :d AND fetch_id = :f"),
        {"d": decision_id, "f": fetch_id},
    )
    return "edited", decision_id


def _rewrite_a_robots_txt(connection: sa.Connection) -> tuple[str, str]:
    document_id = connection.execute(
        sa.text("SELECT id FROM policy_document WHERE kind = 'robots_txt' ORDER BY id LIMIT 1")
    ).scalar_one()
    connection.execute(
        sa.text("UPDATE policy_document SET content = :c WHERE id = :id"),
        {"c": b"User-agent: *\nDisallow:\n", "id": document_id},
    )
    return "document_edited", str(document_id)


@pytest.mark.parametrize(
    "tamper",
    ["edit", "delete", "insert", "reorder", "unlink", "rewrite_document"],
)
async def test_every_kind_of_tampering_is_caught_and_the_first_bad_record_named(
    app: FastAPI, http: httpx.AsyncClient, fakeweb: FakeWeb, tamper: str
) -> None:
    done = await crawl(http, fakeweb)
    engine = engine_of(app)
    assert verify(engine).ok
    with engine.begin() as connection:
        if tamper == "edit":
            expected = _edit_a_decision(connection, done["denied"][0]["id"])
        elif tamper == "delete":
            expected = _delete_an_observation(connection)
        elif tamper == "insert":
            expected = _insert_a_decision(connection)
        elif tamper == "reorder":
            expected = _swap_two_chain_rows(connection)
        elif tamper == "unlink":
            expected = _unlink_a_document(connection)
        else:
            expected = _rewrite_a_robots_txt(connection)
    report = verify(engine)
    assert not report.ok
    assert report.problem is not None
    assert (report.problem.what, report.problem.record_id) == expected


async def test_the_verify_route_answers_auditors_only(
    app: FastAPI, http: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    await crawl(http, fakeweb)
    assert (await http.get("/v1/audit/verify")).status_code == 403  # a crawl key
    audited = {"Authorization": f"Bearer {AUDIT_KEY}"}
    response = await http.get("/v1/audit/verify", headers=audited)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["problem"] is None
    assert body["by_kind"]["decision"] == 4
    with engine_of(app).begin() as connection:
        expected = _delete_an_observation(connection)
    body = (await http.get("/v1/audit/verify", headers=audited)).json()
    assert body["ok"] is False
    assert (body["problem"]["what"], body["problem"]["record_id"]) == expected


async def test_the_verify_command_exits_5_and_names_the_record(
    app: FastAPI,
    http: httpx.AsyncClient,
    fakeweb: FakeWeb,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = await crawl(http, fakeweb)
    monkeypatch.setenv("OPTOUT_DATABASE__URL", database_url)
    get_settings.cache_clear()  # the settings of this test's database, not an earlier one's
    result = CliRunner().invoke(cli.app, ["verify"])
    assert result.exit_code == 0, result.output
    assert "ok: the log verifies" in result.output
    with engine_of(app).begin() as connection:
        _edit_a_decision(connection, done["denied"][0]["id"])
    result = CliRunner().invoke(cli.app, ["verify", "--json"])
    assert result.exit_code == cli.EXIT_TAMPERED
    report = json.loads(result.stdout)
    assert report["problem"]["record_id"] == done["denied"][0]["id"]
    assert report["problem"]["what"] == "edited"
    get_settings.cache_clear()


# --- signed checkpoints ----------------------------------------------------------------------

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"  # RFC 8032 test 1
PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"  # its public key


@pytest.fixture
async def signed(
    tmp_path: Path, fakeweb: FakeWeb, database_url: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    audit = {"signing_key": SEED, "checkpoint_records": 3}
    async with _served(tmp_path, fakeweb, database_url, audit=audit) as pair:
        yield pair


@pytest.fixture
def signed_app(signed: tuple[FastAPI, httpx.AsyncClient]) -> FastAPI:
    return signed[0]


@pytest.fixture
def signed_http(signed: tuple[FastAPI, httpx.AsyncClient]) -> httpx.AsyncClient:
    return signed[1]


def test_the_signer_is_rfc_8032_ed25519() -> None:
    signer = Signer(SEED)
    assert signer.public_key == PUBLIC
    # RFC 8032 7.1, test 1: the signature of the empty message.
    assert signer.sign(b"") == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


async def test_checkpoints_sign_the_head_and_verify(
    signed_app: FastAPI, signed_http: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    await crawl(signed_http, fakeweb)
    engine = engine_of(signed_app)
    report = verify(engine, public_keys=[PUBLIC])
    assert report.ok, report.problem
    assert report.checkpoints >= 2  # one every 3 records at least
    assert report.signed_seq is not None
    with engine.connect() as connection:
        rows = list(connection.execute(sa.text("SELECT seq, chain FROM log_chain ORDER BY seq")))
        table = LogCheckpoint.__table__
        checkpoint = connection.execute(
            sa.select(table).order_by(table.c.seq.desc()).limit(1)
        ).one()
    assert checkpoint.head == dict(rows)[checkpoint.seq]
    assert report.unsigned == sum(1 for seq, _ in rows if seq > checkpoint.seq)
    # What a third party checks with the public key alone.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    signed_at = checkpoint.signed_at
    message = checkpoint_message(checkpoint.seq, checkpoint.head, signed_at, checkpoint.public_key)
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(PUBLIC)).verify(
        bytes.fromhex(checkpoint.signature), message
    )
    # The route pins the configured key.
    audited = {"Authorization": f"Bearer {AUDIT_KEY}"}
    body = (await signed_http.get("/v1/audit/verify", headers=audited)).json()
    assert body["ok"] is True
    assert body["public_keys"] == [PUBLIC]
    assert body["checkpoints"] == report.checkpoints


def _truncate_the_tail(connection: sa.Connection) -> tuple[str, str]:
    """Remove every chain row from the last checkpoint's on, and the observations they name:
    the chain that is left is consistent, only its signed head says it went further."""
    signed = connection.execute(sa.text("SELECT MAX(seq) FROM log_checkpoint")).scalar_one()
    names = list(
        connection.execute(
            sa.text("SELECT kind, record_id FROM log_chain WHERE seq >= :s"), {"s": signed}
        )
    )
    for kind, record_id in names:
        if kind == "observation":
            connection.execute(sa.text("DELETE FROM observation WHERE id = :i"), {"i": record_id})
    connection.execute(sa.text("DELETE FROM log_chain WHERE seq >= :s"), {"s": signed})
    checkpoint_id = connection.execute(
        sa.text("SELECT id FROM log_checkpoint WHERE seq = :s"), {"s": signed}
    ).scalar_one()
    return "truncated", str(checkpoint_id)


def _rewrite_the_chain(connection: sa.Connection, denied: str) -> tuple[str, str]:
    """Edit a decision, then recompute every digest and chain value after it, as someone with
    write access to the database and the documented algorithm could."""
    connection.execute(
        sa.text("UPDATE decision SET decision = 'allow', reasons = '[]' WHERE id = :id"),
        {"id": denied},
    )
    engine_connection = connection
    from optout_service.chain import _decision_digests

    digest = _decision_digests(engine_connection, [denied])[denied]
    connection.execute(
        sa.text("UPDATE log_chain SET digest = :d WHERE kind = 'decision' AND record_id = :i"),
        {"d": digest.hex(), "i": denied},
    )
    previous = START
    for seq, row_digest in list(
        connection.execute(sa.text("SELECT seq, digest FROM log_chain ORDER BY seq"))
    ):
        previous = hashlib.sha256(previous + bytes.fromhex(row_digest)).digest()
        connection.execute(
            sa.text("UPDATE log_chain SET chain = :c WHERE seq = :s"),
            {"c": previous.hex(), "s": seq},
        )
    first = connection.execute(
        sa.text(
            "SELECT id FROM log_checkpoint WHERE seq >= (SELECT seq FROM log_chain"
            " WHERE kind = 'decision' AND record_id = :i) ORDER BY seq, id LIMIT 1"
        ),
        {"i": denied},
    ).scalar_one()
    return "checkpoint_mismatch", str(first)


def _forge_a_signature(connection: sa.Connection) -> tuple[str, str]:
    checkpoint_id = connection.execute(
        sa.text("SELECT id FROM log_checkpoint ORDER BY seq LIMIT 1")
    ).scalar_one()
    connection.execute(
        sa.text("UPDATE log_checkpoint SET signature = :s WHERE id = :i"),
        {"s": "00" * 64, "i": checkpoint_id},
    )
    return "checkpoint_bad_signature", str(checkpoint_id)


@pytest.mark.parametrize("tamper", ["truncate", "rewrite", "forge"])
async def test_what_the_chain_alone_cannot_show_the_checkpoints_do(
    signed_app: FastAPI, signed_http: httpx.AsyncClient, fakeweb: FakeWeb, tamper: str
) -> None:
    done = await crawl(signed_http, fakeweb)
    engine = engine_of(signed_app)
    assert verify(engine, public_keys=[PUBLIC]).ok
    with engine.begin() as connection:
        if tamper == "truncate":
            expected = _truncate_the_tail(connection)
        elif tamper == "rewrite":
            expected = _rewrite_the_chain(connection, done["denied"][0]["id"])
        else:
            expected = _forge_a_signature(connection)
    report = verify(engine, public_keys=[PUBLIC])
    assert report.problem is not None
    assert (report.problem.what, report.problem.record_id) == expected


async def test_checkpoints_signed_with_another_key_are_refused_when_keys_are_pinned(
    signed_app: FastAPI, signed_http: httpx.AsyncClient, fakeweb: FakeWeb
) -> None:
    await crawl(signed_http, fakeweb)
    report = verify(engine_of(signed_app), public_keys=[Signer("11" * 32).public_key])
    assert report.problem is not None
    assert report.problem.what == "checkpoint_key_unknown"
