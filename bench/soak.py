"""Soak: many clients mixing reads and writes for minutes; errors, latency and memory growth.

    .venv/bin/python -m bench.soak [--seconds 300] [--clients 32] [--workers 2]

Serves Frontline (N uvicorn workers) on a fresh seeded database of the bench cluster and runs
`clients` concurrent loops, each picking a request from a fixed, seeded mix (70% reads of
every kind, 30% writes: create, patch with ETag, cite a source). Any 5xx or transport error
counts as an error; 412s from racing patches are expected and counted apart. The server's
RSS (all its processes) is sampled after a warm-up and at the end. Results:
bench/results/soak.{json,md}.
"""

import argparse
import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx2

from app.domain.vocab import Scope
from app.ingest.seed import seed
from app.services.keys import create_key
from app.settings import Settings
from app.store import devdb
from app.store.engine import make_engine
from bench.common import (
    BENCH_DIR,
    BENCH_PORT,
    bench_database,
    machine,
    percentiles,
    served,
    write_results,
)

READS = [
    "/events?bbox=35.0,50.8,35.8,51.3&datetime=2025-03-01/2025-03-31",
    "/events?place=Demydivka",
    "/events?within=Kursk%20Oblast&limit=500",
    "/events?near=35.27,51.19&radius=30&f=csv",
    "/events?q=Sudzha&sortby=-occurred_at",
    "/places/search?q=Sudzah",
    "/places/search?q=Донецк",
    "/collections/events/items?limit=50",
    "/stats/timeline?interval=week",
    "/tiles/events/7/76/43.mvt",
    "/events?f=ndjson&limit=200",
]
BODY = {
    "title": "Soak test event",
    "event_type": "shelling",
    "occurred_at": "2025-03-10T00:00:00Z",
    "place": "Sudzha",
}


def rss_kib(pid: int) -> int:
    """Resident memory of a process and all its children (uvicorn workers)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += next(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")
        )
        todo.extend(int(c) for c in children)
    return total


async def prepare(url: str) -> str:
    settings = Settings.model_validate({"DATABASE_URL": url})
    engine = make_engine(url, settings)
    try:
        await seed(engine)
        return await create_key(engine, settings, f"soak-{time.time_ns()}", Scope.WRITE)
    finally:
        await engine.dispose()


class Soak:
    def __init__(self, client: httpx2.AsyncClient, rng: random.Random) -> None:
        self.client, self.rng = client, rng
        self.latency: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.created: list[str] = []

    async def one(self) -> None:
        roll = self.rng.random()
        started = time.perf_counter()
        try:
            if roll < 0.7 or (roll >= 0.8 and not self.created):
                response = await self.client.get(self.rng.choice(READS))
            elif roll < 0.8:
                response = await self.client.post("/events", json=BODY)
                if response.status_code == 201:
                    self.created.append(response.headers["location"])
            else:
                response = await self._change(self.rng.choice(self.created), roll < 0.9)
            self.outcomes[str(response.status_code)] += 1
        except httpx2.HTTPError as error:
            self.outcomes[f"error:{type(error).__name__}"] += 1
        self.latency.append((time.perf_counter() - started) * 1000)

    async def _change(self, location: str, patch: bool) -> httpx2.Response:
        etag = (await self.client.get(location)).headers.get("etag", '"0"')
        if patch:
            return await self.client.patch(
                location,
                content=f'{{"fatalities": {self.rng.randint(0, 50)}}}',
                headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"},
            )
        citation = {
            "source": "isw",
            "stance": self.rng.choice(["reports", "confirms", "denies"]),
            "url": f"https://example.org/{self.rng.random()}",
        }
        return await self.client.post(
            f"{location}/sources", json=citation, headers={"If-Match": etag}
        )


async def run(base: str, key: str, clients: int, seconds: float, seed_value: int) -> list[Soak]:
    deadline = time.monotonic() + seconds
    limits = httpx2.Limits(max_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(
        base_url=base, headers=headers, timeout=30, limits=limits
    ) as client:
        soaks = [Soak(client, random.Random(seed_value + n)) for n in range(clients)]

        async def loop(soak: Soak) -> None:
            while time.monotonic() < deadline:
                await soak.one()

        await asyncio.gather(*map(loop, soaks))
    return soaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    devdb.run_sql(cluster, 'DROP DATABASE IF EXISTS "soak" WITH (FORCE)')
    url = bench_database("soak")
    key = asyncio.run(prepare(url))
    unlimited = {
        "FRONTLINE_WRITES_PER_MINUTE_PER_KEY": "0",
        "FRONTLINE_WRITES_PER_MINUTE_PER_IP": "0",
    }
    os.environ.update(unlimited)
    with served(url, workers=args.workers) as (base, process):
        asyncio.run(run(base, key, args.clients, min(20.0, args.seconds / 10), args.seed))
        rss_start = rss_kib(process.pid)
        soaks = asyncio.run(run(base, key, args.clients, args.seconds, args.seed + 1000))
        rss_end = rss_kib(process.pid)
    outcomes: Counter[str] = sum((s.outcomes for s in soaks), Counter())
    errors = sum(n for k, n in outcomes.items() if k.startswith("error") or k.startswith("5"))
    latency = percentiles([ms for s in soaks for ms in s.latency])
    doc: dict[str, Any] = {
        "benchmark": "soak",
        "machine": machine(),
        "seconds": args.seconds,
        "clients": args.clients,
        "workers": args.workers,
        "requests": sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "errors": errors,
        "latency": latency,
        "rss_mib": {"after_warmup": round(rss_start / 1024, 1), "end": round(rss_end / 1024, 1)},
        "rss_growth_percent": round(100 * (rss_end - rss_start) / rss_start, 1),
        "command": f"python -m bench.soak --seconds {args.seconds:g} --clients {args.clients}",
    }
    table = (
        f"Soak: {args.clients} clients, {args.seconds:g} s, {args.workers} workers, "
        f"{doc['requests']} requests\n\n| errors | p50 ms | p95 ms | p99 ms | RSS start → end MiB "
        "| growth |\n|---:|---:|---:|---:|---|---:|\n"
        f"| {errors} | {latency['p50_ms']} | {latency['p95_ms']} | {latency['p99_ms']} | "
        f"{doc['rss_mib']['after_warmup']} → {doc['rss_mib']['end']} | "
        f"{doc['rss_growth_percent']}% |\n\nOutcomes: {dict(sorted(outcomes.items()))}"
    )
    write_results("soak", doc, table)
    if errors:
        raise SystemExit(f"{errors} errors during the soak")


if __name__ == "__main__":
    main()
