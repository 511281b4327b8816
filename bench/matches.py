"""Duplicate candidates on a large events table: `python -m bench.matches --events 1000000`.

The events are those of the events workload (`bench.generate`: clustered around the front-line
and border places, 2022-02-24 to today, every time and location precision the generator
draws). They are one dataset, so every request asks `same_dataset=true`: the probes are the
ones a cross-dataset request runs, and more events pass the gates (a harder case than real
use). One client asks the served app for `GET /events/{id}/matches` of random live events,
in sequence over HTTP; then the dataset batch (the statement behind `GET /matches` and
`frontline matches`) is timed over its first batches of base events.
"""

import argparse
import asyncio
import random
import time
from typing import Any

from sqlalchemy import text

from app.services import matching
from app.services.matching import MatchOptions
from app.settings import Settings
from app.store.engine import make_engine
from bench import generate
from bench.common import machine, percentiles, revision, sequential_ms, served, write_results

_IDS = "SELECT id FROM events WHERE deleted_at IS NULL AND id % 97 = 0 ORDER BY id"
_COUNTS = (
    "SELECT count(*) FILTER (WHERE time_precision IN ('week', 'month', 'year') "
    "OR location_precision IN ('district', 'region', 'country')), count(*) FROM events"
)


async def _sample_ids(url: str, n: int, seed: int) -> tuple[list[int], tuple[int, int]]:
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        async with engine.connect() as conn:
            ids = list((await conn.execute(text(_IDS))).scalars())
            coarse, total = (await conn.execute(text(_COUNTS))).one()
    finally:
        await engine.dispose()
    return random.Random(seed).sample(ids, n), (int(coarse), int(total))


async def _batch_rate(url: str, batches: int) -> dict[str, Any]:
    """Base events matched per second by the dataset statement, over its first batches."""
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    options = MatchOptions(limit=3, same_dataset=True)
    pairs = done = 0
    started = time.perf_counter()
    try:
        async for rows in await matching.dataset_matches(engine, "bench", options):
            pairs += len(rows)
            done += 1
            if done == batches:
                break
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    events = done * matching.BATCH_EVENTS
    return {"base_events": events, "pairs": pairs, "seconds": round(seconds, 2),
            "events_per_s": round(events / seconds)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    url, info = generate.database(args.events)
    ids, (coarse, total) = asyncio.run(_sample_ids(url, args.requests + 30, args.seed))
    with served(url) as (base, _process):
        # Each request a different event (the first 30 warm the pool and the caches).
        times = [
            ms
            for i in ids
            for ms in sequential_ms(f"{base}/events/{i}/matches?same_dataset=true", 1, warm_up=0)
        ]
    rows = [{"case": "one event, limit=10", **percentiles(times[30:])}]
    batch = asyncio.run(_batch_rate(url, args.batches))
    doc = {"events": total, "coarse_events": coarse, "machine": machine(),
           "revision": revision(), "cases": rows, "batch": batch,
           "data": info}  # fmt: skip
    table = "\n".join(
        [f"events: {total:,} ({coarse:,} coarse) — revision {doc['revision']}",
         "", "| case | n | p50 ms | p95 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
        + [f"| {r['case']} | {r['n']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
           f"{r['max_ms']} |" for r in rows]
        + ["", f"dataset batch: {batch['base_events']:,} base events, {batch['pairs']:,} pairs "
           f"in {batch['seconds']} s ({batch['events_per_s']:,} events/s)"]
    )  # fmt: skip
    write_results(f"matches_{args.events}", doc, table)


if __name__ == "__main__":
    main()
