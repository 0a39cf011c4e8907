"""What a new origin costs the service: its policy documents fetched, stored and parsed.

Every origin a crawl meets for the first time costs the service one fetch per kind of policy
document its checks read (robots.txt, tdmrep.json, ai.txt; RSL licences when a file names one),
each fetch recorded in the log. On a training crawl of many hosts with few pages each this is
paid once per host and shows in ``benchmarks/crawl.py --web corpus`` as the first seconds of
the crawl, while every host's first request waits for its decision.

The corpus web (``benchmarks/corpus_web.py``) is served in a child process and used as the
HTTP proxy, as in the crawl benchmark; this process builds the service's components (SQLite
log in a temporary directory) and asks the decision engine for the documents of N new origins,
CONCURRENCY at a time. Two configurations alternate, ROUNDS times each: robots.txt alone (the
baseline: what a robots.txt-only crawler fetches) and every kind the default checks read.

    python -m benchmarks.policy_fetch [--origins 875] [--concurrency 128] [--rounds 3]

CPU is this process's (every thread: the event loop, the log writer, parsing). Medians of the
rounds. The last lines are ``cpu_ms_per_origin_all=``, ``cpu_ms_per_origin_robots=`` and
``cost_ratio=<all / robots>``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from benchmarks.corpus_web import CorpusWebProcess
from optout_service.config import Settings
from optout_service.db import upgrade_to_head
from optout_service.services import Services

# Switched off for the robots.txt-only configuration: every check that reads another kind.
NOT_ROBOTS = ["tdmrep", "ai_txt", "rsl"]


@dataclass(frozen=True, slots=True)
class Round:
    kinds: tuple[str, ...]
    cpu_ms_per_origin: float
    wall_seconds: float
    latency_p50_ms: float
    latency_p90_ms: float
    outcomes: Counter[str]


async def _round(origins: list[str], concurrency: int, disabled: list[str]) -> Round:
    with tempfile.TemporaryDirectory(prefix="policy-fetch-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'log.sqlite3'}"
        os.environ["OPTOUT_DATABASE__URL"] = url
        os.environ["OPTOUT_CHECKS__DISABLED"] = json.dumps(disabled)
        upgrade_to_head(url)
        services = Services.build(Settings())
        try:
            engine = services.engine
            gate = asyncio.Semaphore(concurrency)
            latencies: list[float] = []
            outcomes: Counter[str] = Counter()

            async def one(origin: str) -> None:
                async with gate:
                    started = time.perf_counter()
                    documents = await engine.documents(origin)
                    latencies.append(time.perf_counter() - started)
                    outcomes.update(f"{k} {d.outcome.value}" for k, d in documents.items())

            wall, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(one(origin) for origin in origins))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        finally:
            await services.aclose()
    latencies.sort()
    return Round(
        kinds=engine.kinds,
        cpu_ms_per_origin=cpu / len(origins) * 1000,
        wall_seconds=wall,
        latency_p50_ms=latencies[len(latencies) // 2] * 1000,
        latency_p90_ms=latencies[int(len(latencies) * 0.9)] * 1000,
        outcomes=outcomes,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--origins", type=int, default=875, help="new origins per round")
    parser.add_argument("--concurrency", type=int, default=128, help="origins at once")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    rounds: dict[str, list[Round]] = {"robots": [], "all": []}
    with CorpusWebProcess(args.origins, 0, "15") as web:
        os.environ["http_proxy"] = web.proxy_url
        for name in ("no_proxy", "NO_PROXY", "https_proxy", "HTTPS_PROXY"):
            os.environ.pop(name, None)
        origins = [f"http://c{i:04d}.corpusweb.org" for i in range(args.origins)]
        for number in range(1, args.rounds + 1):
            for side, disabled in (("robots", NOT_ROBOTS), ("all", [])):
                result = asyncio.run(_round(origins, args.concurrency, disabled))
                rounds[side].append(result)
                print(
                    f"round {number} {side:>6}: {len(result.kinds)} kinds "
                    f"({', '.join(result.kinds)}), {result.cpu_ms_per_origin:.2f} ms CPU/origin, "
                    f"{result.wall_seconds:.2f} s, latency p50 {result.latency_p50_ms:.0f} ms "
                    f"p90 {result.latency_p90_ms:.0f} ms; "
                    + ", ".join(f"{k}: {n}" for k, n in sorted(result.outcomes.items()))
                )
    medians = {
        side: statistics.median(r.cpu_ms_per_origin for r in results)
        for side, results in rounds.items()
    }
    print(f"cpu_ms_per_origin_all={medians['all']:.2f}")
    print(f"cpu_ms_per_origin_robots={medians['robots']:.2f}")
    print(f"cost_ratio={medians['all'] / medians['robots']:.2f}")


if __name__ == "__main__":
    main()
