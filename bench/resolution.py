"""How many rows of a real events file an import ties to a place that already existed, with
the founding seeds alone and with the full gazetteer.

    .venv/bin/python -m bench.resolution [--file FILE]  (default: the UCDP GED Ukraine file
    in ../shared/data/events/)

Each run imports the file into a fresh database of the bench cluster (seeded, then with or
without `load_gazetteer`) and counts the events tied to a place, those tied to a place the
import had to create, and the places it created. Results: bench/results/resolution.{json,md}.
"""

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

import asyncpg

from app.ingest.events import import_events
from app.ingest.gazetteer import load_gazetteer
from app.ingest.seed import seed
from app.settings import REPO_ROOT, Settings
from app.store import devdb
from app.store.engine import make_engine
from bench.common import BENCH_DIR, BENCH_PORT, bench_database, write_results
from bench.generate import dsn

DEFAULT_FILE = REPO_ROOT.parent / "shared" / "data" / "events" / "ucdp_ged_ukraine_2014_2022.csv.gz"


async def _load(url: str, gazetteer: bool) -> None:
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        await seed(engine)
        if gazetteer:
            await load_gazetteer(engine)
    finally:
        await engine.dispose()


async def _import(url: str, path: Path) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn(url))
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        last = await conn.fetchval("SELECT max(id) FROM places")
        started = time.perf_counter()
        report = await import_events(engine, path, "file", "bench", partial=True)
        seconds = time.perf_counter() - started
        count = "SELECT count(*) FROM events WHERE dataset = 'file' AND "
        tied = await conn.fetchval(count + "place_id IS NOT NULL")
        minted = await conn.fetchval(count + "place_id > $1", last)
        created = await conn.fetchval("SELECT count(*) FROM places WHERE id > $1", last)
    finally:
        await conn.close()
        await engine.dispose()
    share = round((tied - minted) / tied, 3)
    return {"rows": report.rows, "inserted": report.inserted, "rejected": report.rejected_count,
            "tied": tied, "to_existing": tied - minted, "share_existing": share,
            "places_created": created, "seconds": round(seconds, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    args = parser.parse_args()
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    results = {}
    for gazetteer in (False, True):
        name = f"resolution_{int(gazetteer)}"
        if devdb.database_exists(cluster, name):
            devdb.drop_database(cluster, name)
        url = bench_database(name)
        asyncio.run(_load(url, gazetteer))
        results["full gazetteer" if gazetteer else "founding seeds"] = asyncio.run(
            _import(url, args.file)
        )
        devdb.drop_database(cluster, name)
    rows = "\n".join(
        f"| {name} | {r['rows']} | {r['tied']} | {r['to_existing']} ({r['share_existing']:.1%}) "
        f"| {r['places_created']} | {r['seconds']} |"
        for name, r in results.items()
    )
    title = f"Rows of `{args.file.name}` tied to a place that existed"
    table = (f"{title} (`python -m bench.resolution`)\n\n"
             "| gazetteer | rows | tied to a place | to one that existed | places created | s |\n"
             "|---|---:|---:|---:|---:|---:|\n" + rows)  # fmt: skip
    write_results("resolution", {"file": args.file.name, "results": results}, table)


if __name__ == "__main__":
    main()
