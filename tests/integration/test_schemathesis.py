"""Schemathesis against the OpenAPI schema of a real served instance (PostgreSQL behind it),
without a key and with each kind of key: no server error, no status the schema does not
declare, no undeclared content type, no body that breaks the declared schema."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from piracy_lists import demo_list_path
from tests.support.postgres import Cluster
from tests.support.served import KEYS, Served, service_env

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
MAX_EXAMPLES = 25
SEED = 20261123  # fixed, so a failure in CI can be replayed exactly


@pytest.fixture(scope="module")
def served(postgres: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    with postgres.database(migrated=False, tcp=True) as url:
        env = service_env(
            url,
            OPTOUT_PIRACY__LISTS=json.dumps([str(demo_list_path())]),
            # The rate limit is tested on its own; here it would only cut exploration short.
            OPTOUT_API__PUBLIC_REQUESTS_PER_MINUTE="0",
        )
        with Served(env, workdir) as instance:
            yield instance


@pytest.mark.parametrize("key", [None, "crawl", "audit"])
def test_the_schema_holds_for_every_generated_request(
    served: Served, key: str | None, tmp_path: Path
) -> None:
    command = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{served.url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        # One worker: concurrent hypothesis workers trip a CPython 3.11 ast.parse bug.
        "--workers",
        "1",
        "--suppress-health-check",
        "all",
    ]
    if key is not None:
        command += ["--header", f"Authorization: Bearer {KEYS[key]}"]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    generated = re.search(r"(\d+) generated", result.stdout)
    assert generated is not None, result.stdout[-3000:]
    assert int(generated.group(1)) > 100
