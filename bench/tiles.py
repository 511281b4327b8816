"""Vector tile latency on a large events table: `python -m bench.tiles --events 1000000`.

The events are those of the events workload (`bench.generate`: clustered around the front-line
and border places, 2022-02-24 to today, in time order as a live feed stores them, with places
and citations). One client asks the served app for tiles at zooms 4–12 over HTTP, in
sequence, each tile chosen under a random event (so tiles hold data), with no filter and with
a one-month `datetime`.

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

from app.settings import Settings
from app.store import devdb, migrate
from app.store.engine import make_engine
from bench import generate
from bench.common import (
    BENCH_DIR,
    BENCH_PORT,
    machine,
    percentiles,
    revision,
    served,
    write_results,
)
from bench.imports import run_import, write_csv

WRITES_DB = "frontline_bench_tile_writes"


async def sample_points(url: str) -> list[tuple[float, float]]:
    """Positions of up to 5 000 events picked at random (tiles are chosen under them)."""
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        async with engine.connect() as conn:
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
        for name, target in (
            ("without summary (0005)", "0005"),
            ("at head: summary, span bound, citation counts", "head"),
        ):
            devdb.run_sql(cluster, f'DROP DATABASE IF EXISTS "{WRITES_DB}" WITH (FORCE)')
            devdb.create_database(cluster, WRITES_DB)
            url = cluster.url(WRITES_DB)
            migrate.upgrade(url, target)
            env = {**os.environ, "DATABASE_URL": url}
            command = [sys.executable, "-m", "app.cli", "seed", "--founding-only"]
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
    url, _ = generate.database(args.events, args.seed)
    points = asyncio.run(sample_points(url))
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
