"""Vector tile latency on a large events table: `python -m bench.tiles --events 1000000`.

Events are generated in SQL (70% around 60 hot spots along the front, 30% spread over
30–40°E, 46–53°N, over three years), then one client asks the served app for tiles at zooms
4–12 over HTTP, in sequence, each tile chosen under a random event (so tiles hold data), with
no filter and with a one-month `datetime`.

With `--import-rows N` it also times `frontline import` of an N-row ACLED-style file (the
generator of bench.imports) into a fresh seeded database, at migration 0005 (no tile-cell
summary) and at head (its triggers), then the same file again (every row unchanged).
"""

import argparse
import asyncio
import math
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from sqlalchemy import text

from app import devdb, migrate
from app.db import make_engine
from app.settings import Settings
from bench.common import (
    BENCH_DIR,
    BENCH_PORT,
    bench_database,
    machine,
    percentiles,
    revision,
    served,
    write_results,
)
from bench.imports import run_import, write_csv

WRITES_DB = "frontline_bench_tile_writes"

GENERATE = text(
    """
    WITH hot AS (
        SELECT h, 30.5 + random() * 9 AS lon, 46.5 + random() * 6 AS lat
        FROM generate_series(1, 60) AS h
    ), g AS (
        SELECT i, random() < 0.7 AS clustered, 1 + floor(random() * 60)::int AS h,
               random() AS u1, random() AS u2, random() AS u3, random() AS u4
        FROM generate_series(1, :n) AS i
    )
    INSERT INTO events (dataset, external_id, title, event_type, occurred_at, occurred_until,
                        time_precision, geom, location_precision, verification, fatalities)
    SELECT 'bench', 'b' || g.i, 'Bench event ' || g.i,
           (ARRAY['battle','shelling','airstrike','drone_strike','missile_strike'])[1 + g.i % 5],
           ts, CASE WHEN g.u4 < 0.5 THEN ts + interval '1 day' END, 'day',
           ST_SetSRID(ST_MakePoint(
               CASE WHEN g.clustered THEN least(40, greatest(30, hot.lon
                    + 0.25 * sqrt(-2 * ln(g.u1 + 1e-12)) * cos(2 * pi() * g.u2)))
                    ELSE 30 + g.u1 * 10 END,
               CASE WHEN g.clustered THEN least(53, greatest(46, hot.lat
                    + 0.25 * sqrt(-2 * ln(g.u1 + 1e-12)) * sin(2 * pi() * g.u2)))
                    ELSE 46 + g.u2 * 7 END), 4326),
           'exact',
           (ARRAY['unverified','claimed','disputed','confirmed'])[1 + g.i % 4],
           CASE WHEN g.u3 < 0.3 THEN floor(g.u3 * 30)::int END
    FROM g JOIN hot ON hot.h = g.h,
         LATERAL (SELECT timestamptz '2022-02-24' + g.u3 * interval '1095 days' AS ts) t
    """
)


async def load(url: str, count: int) -> list[tuple[float, float]]:
    """Fill the table once (reused by later runs); return a sample of event positions."""
    # Generating a million rows (and their indexes) takes longer than a request may.
    settings = Settings.model_validate({"DATABASE_URL": url, "statement_timeout_ms": 3_600_000})
    engine = make_engine(url, settings)
    try:
        async with engine.begin() as conn:
            have = (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()
            if have != count:
                await conn.execute(text("TRUNCATE events CASCADE"))
                started = time.monotonic()
                await conn.execute(GENERATE, {"n": count})
                print(f"generated {count} events in {time.monotonic() - started:.1f} s")
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE events"))
            rows = await conn.execute(
                text("SELECT ST_X(geom), ST_Y(geom) FROM events TABLESAMPLE SYSTEM (1) LIMIT 5000")
            )
            return [(float(x), float(y)) for x, y in rows]
    finally:
        await engine.dispose()


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return min(int((lon + 180) / 360 * n), n - 1), min(int(y), n - 1)


def timed_get(url: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310 (our own server)
        body = response.read()
        status = response.status
    return (time.perf_counter() - started) * 1000, status, len(body)


def run(base: str, points: list[tuple[float, float]], per_zoom: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    variants = {"all": "", "one month": "?datetime=2024-03-01/2024-03-31"}
    results: dict[str, Any] = {}
    for z in range(4, 13):
        tiles = [tile_of(*rng.choice(points), z) for _ in range(per_zoom)]
        for name, query in variants.items():
            for x, y in tiles[:3]:  # warm-up
                timed_get(f"{base}/tiles/events/{z}/{x}/{y}.mvt{query}")
            samples, sizes = [], []
            for x, y in tiles:
                ms, _, size = timed_get(f"{base}/tiles/events/{z}/{x}/{y}.mvt{query}")
                samples.append(ms)
                sizes.append(size)
            results[f"z{z} {name}"] = {
                **percentiles(samples),
                "mean_bytes": sum(sizes) // len(sizes),
            }
            print(f"z{z} {name}: {results[f'z{z} {name}']}")
    return results


def table(results: dict[str, Any], count: int) -> str:
    lines = [f"Tiles over {count} events (sequential, one client)", "",
             "| zoom, filter | n | p50 ms | p95 ms | p99 ms | mean bytes |",
             "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['n']} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} "
            f"| {r['mean_bytes']} |"
        )
    return "\n".join(lines)


def import_cost(rows: int, seed: int) -> dict[str, Any]:
    """Seconds of a bulk import without (0005) and with (head) the summary's triggers."""
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "acled.csv"
        write_csv(path, rows, seed)
        for name, target in (("without summary (0005)", "0005"), ("with summary", "head")):
            devdb.run_sql(cluster, f'DROP DATABASE IF EXISTS "{WRITES_DB}" WITH (FORCE)')
            devdb.create_database(cluster, WRITES_DB)
            url = cluster.url(WRITES_DB)
            migrate.upgrade(url, target)
            env = {**os.environ, "DATABASE_URL": url}
            command = [sys.executable, "-m", "app.cli", "seed"]
            subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
            first = run_import(url, path)["seconds"]
            again = run_import(url, path)["seconds"]
            results[name] = {"rows": rows, "import_s": first, "reimport_unchanged_s": again}
            print(f"{name}: {results[name]}")
        devdb.run_sql(cluster, f'DROP DATABASE IF EXISTS "{WRITES_DB}" WITH (FORCE)')
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--tiles-per-zoom", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--import-rows", type=int, default=0, help="also time bulk imports")
    args = parser.parse_args()
    url = bench_database("frontline_bench_tiles")
    points = asyncio.run(load(url, args.events))
    with served(url) as (base, _):
        results = run(base, points, args.tiles_per_zoom, args.seed)
    doc = {"events": args.events, "revision": revision(), "machine": machine(), "results": results}
    text_table = table(results, args.events)
    if args.import_rows:
        doc["imports"] = writes = import_cost(args.import_rows, args.seed)
        text_table += "\n\n| bulk import | rows | import s | re-import (unchanged) s |\n"
        text_table += "|---|---:|---:|---:|\n"
        text_table += "\n".join(
            f"| {name} | {r['rows']} | {r['import_s']} | {r['reimport_unchanged_s']} |"
            for name, r in writes.items()
        )
    write_results("tiles", doc, text_table)


if __name__ == "__main__":
    main()
