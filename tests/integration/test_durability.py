"""Nothing the service acknowledged is lost when it is killed (SIGKILL), on SQLite and on
PostgreSQL: the log is committed before any answer leaves the service."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest

from piracy_lists import demo_list_path
from tests.support.served import Served, service_env

pytestmark = pytest.mark.integration

WORKERS = 4
ACKNOWLEDGED_BEFORE_KILL = 1500


def _post_until_stopped(
    served: Served, worker: int, acknowledged: set[str], lock: threading.Lock, stop: threading.Event
) -> None:
    with served.client(timeout=10) as client:
        batch = 0
        while not stop.is_set():
            urls = [f"http://site{worker}-{batch % 40}.example.com/p{batch}-{k}" for k in range(8)]
            urls.append(f"http://www{batch}.streamvault-free.to/")  # piracy-listed: no fetch
            try:
                response = client.post(
                    "/v1/decisions",
                    json={"crawler": "ExampleBot", "job": "durable", "urls": urls},
                )
                ids = [d["id"] for d in response.json()["decisions"]]
            except (httpx.HTTPError, ValueError, KeyError):
                return  # the service is gone: whatever was not answered was not acknowledged
            if response.status_code == 200:
                with lock:
                    acknowledged.update(ids)
            batch += 1


def test_no_acknowledged_decision_is_lost_to_sigkill(served_database: str, tmp_path: Path) -> None:
    env = service_env(served_database, OPTOUT_PIRACY__LISTS=json.dumps([str(demo_list_path())]))
    acknowledged: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    served = Served(env, tmp_path)
    threads = [
        threading.Thread(target=_post_until_stopped, args=(served, n, acknowledged, lock, stop))
        for n in range(WORKERS)
    ]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
            time.sleep(0.05)
        # Killed while requests are in flight: the workers are still posting.
        served.kill()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        served.stop()
    with lock:
        answered = set(acknowledged)
    assert len(answered) >= ACKNOWLEDGED_BEFORE_KILL

    with Served(env, tmp_path) as again, again.client("audit") as client:
        response = client.get("/v1/audit/export", params={"job": "durable"})
        assert response.status_code == 200
        logged = {
            record["id"]
            for record in map(json.loads, response.text.splitlines())
            if record["type"] == "decision"
        }
        # The restarted service works on the same log.
        after = client.post(
            "/v1/decisions",
            json={
                "crawler": "ExampleBot",
                "job": "durable",
                "urls": ["http://streamvault-free.to/"],
            },
            headers={"Authorization": "Bearer served-crawl-key"},
        )
        assert after.status_code == 200
        # The chain over the log still verifies: the killed transactions left no half record.
        verified = client.get("/v1/audit/verify")
        assert verified.status_code == 200, verified.text
        report = verified.json()
        assert report["ok"] is True, report["problem"]
        assert report["by_kind"]["decision"] >= len(answered)
    assert answered - logged == set()
