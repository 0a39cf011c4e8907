"""Two service processes on one database, writing at once: the log's chain stays one
sequence that verifies, on PostgreSQL (an advisory lock per transaction) and on SQLite (the
database's write lock), and each replica's signed checkpoints verify against the pinned key."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from piracy_lists import demo_list_path
from tests.support.served import Served, service_env

pytestmark = pytest.mark.integration

SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"  # RFC 8032 test 2
REQUESTS_PER_WORKER = 40
WORKERS_PER_REPLICA = 3


def _post(served: Served, worker: int, answered: list[str], lock: threading.Lock) -> None:
    with served.client(timeout=30) as client:
        for n in range(REQUESTS_PER_WORKER):
            # Piracy-listed hosts: decided without a fetch, so the writers, not the web, are
            # what these requests exercise.
            urls = [f"http://w{worker}-{n}-{k}.streamvault-free.to/" for k in range(5)]
            response = client.post(
                "/v1/decisions", json={"crawler": "ExampleBot", "job": "replicas", "urls": urls}
            )
            assert response.status_code == 200, response.text
            with lock:
                answered.extend(d["id"] for d in response.json()["decisions"])


def test_two_replicas_writing_at_once_keep_one_chain(served_database: str, tmp_path: Path) -> None:
    env = service_env(
        served_database,
        OPTOUT_PIRACY__LISTS=json.dumps([str(demo_list_path())]),
        OPTOUT_AUDIT__SIGNING_KEY=SEED,
        OPTOUT_AUDIT__CHECKPOINT_RECORDS="50",
    )
    answered: list[str] = []
    lock = threading.Lock()
    first = Served(env, tmp_path)
    try:
        second = Served(env, tmp_path, migrate=False)
        try:
            threads = [
                threading.Thread(target=_post, args=(replica, n, answered, lock))
                for n, replica in enumerate([first, second] * WORKERS_PER_REPLICA)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            second.stop()
        with first.client("audit") as client:
            report = client.get("/v1/audit/verify").json()
    finally:
        first.stop()
    expected = 2 * WORKERS_PER_REPLICA * REQUESTS_PER_WORKER * 5
    assert len(answered) == expected
    assert report["ok"] is True, report["problem"]
    assert report["by_kind"]["decision"] == expected
    assert report["checkpoints"] >= 2
    assert report["public_keys"] is not None
