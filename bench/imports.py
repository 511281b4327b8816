"""Bulk import throughput: an ACLED-style CSV of N rows through `frontline import`.

    .venv/bin/python -m bench.imports [--rows 1000000]

Generates a seeded synthetic file (real place names and points of the seeds, jittered; 2022
onwards; 1–2 sources per row), imports it into a fresh database of the bench cluster with the
CLI, and records rows/s and the importer's peak RSS for a tenth of the file and for all of it
(flat memory means the two peaks are close). Results: bench/results/imports.{json,md}.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from app.settings import REPO_ROOT
from app.store import devdb
from bench.common import BENCH_DIR, BENCH_PORT, bench_database, machine, write_results

COLUMNS = [
    "event_id_cnty",
    "event_date",
    "event_type",
    "sub_event_type",
    "actor1",
    "actor2",
    "admin1",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "time_precision",
    "source",
    "notes",
    "fatalities",
]
KINDS = [
    ("Battles", "Armed clash"),
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
    ("Explosions/Remote violence", "Air/drone strike"),
    ("Violence against civilians", "Attack"),
]
SOURCES = ["Ukrainska Pravda", "Suspilne", "Ministry of Defence of Russia", "Kommersant", "ISW"]


def write_csv(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    places = json.loads((REPO_ROOT / "seeds" / "places.json").read_text())["places"]
    places = [p for p in places if p["kind"] == "settlement"]
    start = date(2022, 2, 24)
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(rows):
            place = rng.choice(places)
            kind, sub = rng.choice(KINDS)
            when = start + timedelta(days=rng.randrange(1000))
            out.writerow(
                [
                    f"BEN{i}",
                    when.isoformat(),
                    kind,
                    sub,
                    "Military Forces of Russia",
                    "Military Forces of Ukraine",
                    "",
                    place["name"],
                    f"{place['lat'] + rng.uniform(-0.05, 0.05):.5f}",
                    f"{place['lon'] + rng.uniform(-0.05, 0.05):.5f}",
                    "1",
                    "1",
                    "; ".join(rng.sample(SOURCES, rng.randint(1, 2))),
                    "Synthetic benchmark row.",
                    str(rng.randint(0, 5)),
                ]
            )


# The same file through a mapping instead of the built-in ACLED reader: the generic path's cost.
MAPPING = Path(__file__).with_name("acled_columns.toml")


def run_import(url: str, path: Path, mapping: bool = False) -> dict[str, float]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "app.cli", "import", str(path), "--dataset", "bench"]
    command += ["--mapping", str(MAPPING)] if mapping else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": round(seconds, 1),
        "importer_peak_rss_mib": round(max(peak_kib, before) / 1024, 1),
    }


def fresh(name: str) -> str:
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    devdb.run_sql(cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return bench_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mapping", action="store_true",
                        help="read the file through bench/acled_columns.toml")  # fmt: skip
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (args.rows // 10, args.rows):
            path = Path(tmp) / f"acled-{rows}.csv"
            write_csv(path, rows, args.seed)
            url = fresh(f"imports_{rows}")
            subprocess.run(
                [sys.executable, "-m", "app.cli", "seed", "--founding-only"],
                check=True,
                env={**os.environ, "DATABASE_URL": url},
                stdout=subprocess.DEVNULL,
            )
            measured = run_import(url, path, args.mapping)
            measured["rows_per_s"] = round(rows / measured["seconds"])
            measured["file_mib"] = round(path.stat().st_size / 2**20, 1)
            results[str(rows)] = measured
    doc = {
        "benchmark": "bulk-import",
        "machine": machine(),
        "format": "ACLED-style CSV" + (", through a mapping" if args.mapping else ""),
        "results": results,
        "command": f"python -m bench.imports --rows {args.rows}"
        + (" --mapping" if args.mapping else ""),
    }
    lines = [
        f"| {rows} | {r['file_mib']} | {r['seconds']} | {r['rows_per_s']} | "
        f"{r['importer_peak_rss_mib']} |"
        for rows, r in results.items()
    ]
    table = (
        f"Bulk import (`frontline import`, {doc['format']})\n\n"
        "| rows | file MiB | seconds | rows/s | importer peak RSS MiB |\n"
        "|---:|---:|---:|---:|---:|\n" + "\n".join(lines)
    )
    write_results("imports_mapping" if args.mapping else "imports", doc, table)


if __name__ == "__main__":
    main()
