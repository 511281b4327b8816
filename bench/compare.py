"""Frontline side by side with tipg and the two floors, in one run, on the same database.

    .venv/bin/python -m bench.compare --events 1000000 [--duration 20] [--connections 8]

Targets, each with 2 uvicorn workers (`--workers`) and driven by the same wrk client:
- frontline: this project;
- tipg: installed from PyPI into its own venv (.data/bench/tipg-venv), serving the view
  `bench_events` (the same properties as Frontline's Features, citations included);
- floor_app: `bench/floor_app.py`, one SQL statement building the FeatureCollection;
- pgbench: that same statement, run by PostgreSQL's pgbench (the database alone);
- pgbench_naive: the same FeatureCollection from the naive schema (`bench/naive.py`: one
  table, GiST on the point, B-tree on the time), through pgbench;
- naive_app: the floor app serving that naive statement (a thin asyncpg app on the naive
  table).
The four cases of issue 7 run on every target; the ids of a sample of URLs are checked
against plain SQL for each HTTP target. Results: bench/results/compare.{json,md}.
"""

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg

from app.settings import REPO_ROOT
from app.store import devdb
from bench import generate, naive, workload
from bench.common import BENCH_DIR, machine, percentiles, revision, served, write_results
from bench.floor_app import statement
from bench.measure import (
    PeakRss,
    add_load_arguments,
    answers_per_s,
    busy_before,
    fetch,
    ids,
    load,
    settle,
)
from bench.workload import COMPARED, Query, frontline_path, long, tipg_path

TIPG_VENV = BENCH_DIR / "tipg-venv"
# The columns of Frontline's Features, in a view tipg can serve; `occurred_end` lets a CQL2
# filter express "the span intersects the window" (tipg filters one datetime column).
VIEW = """
CREATE OR REPLACE VIEW bench_events AS
SELECT e.id, e.geom, e.title, e.description, e.event_type, e.sub_event_type, e.actors,
       e.fatalities, e.occurred_at, e.occurred_until, e.time_precision, e.place_id,
       p.slug AS place_slug, p.name AS place_name, e.location_precision, e.verification,
       e.source_count,
       (SELECT coalesce(json_agg(json_build_object('source', s.slug, 'stance', es.stance)
                                 ORDER BY es.published_at NULLS LAST, es.id), '[]')
        FROM event_sources es JOIN sources s ON s.id = es.source_id
        WHERE es.event_id = e.id) AS citations,
       e.tags, e.dataset, e.external_id, e.version, e.created_at, e.updated_at, e.deleted_at,
       upper(e.during) AS occurred_end
FROM events e LEFT JOIN places p ON p.id = e.place_id
WHERE e.deleted_at IS NULL
"""
LIMITS = {"small": "1000", "medium": "1000", "large": "10000", "export": "ALL"}


def ensure_tipg() -> Path:
    """tipg and uvicorn[standard] (the same server stack as Frontline) in their own venv."""
    python = TIPG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run(["python3", "-m", "venv", str(TIPG_VENV)], check=True)
    check = subprocess.run([str(python), "-c", "import tipg, uvloop, httptools"], check=False)
    if check.returncode != 0:
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"],
                       check=True)  # fmt: skip
    return python


def pgbench_script(
    queries: list[Query], limit: str, statement: Callable[..., str] = statement
) -> str:
    """A floor statement with pgbench variables, each run picking one of the queries."""
    world = (-180.0, -90.0, 180.0, 90.0)
    rows = [(*(q.bbox or world), int(q.start.timestamp()), int(q.end.timestamp()))
            for q in queries]  # fmt: skip
    lines = [f"\\set i random(0, {len(queries) - 1})"]
    for j, name in enumerate(("x0", "y0", "x1", "y1", "t0", "t1")):
        branches = " ".join(f"WHEN :i = {i} THEN {row[j]}" for i, row in enumerate(rows))
        lines.append(f"\\set {name} CASE {branches} END")
    sql = statement(x0=":x0", y0=":y0", x1=":x1", y1=":y1", t0="to_timestamp(:t0)",
                    t1="to_timestamp(:t1)", limit=limit)  # fmt: skip
    return "\n".join(lines) + "\n" + sql.strip() + ";\n"


def pgbench(url: str, script: str, seconds: int, clients: int) -> dict[str, Any]:
    """Transactions/s and latency percentiles of pgbench running the script (simple protocol)."""
    parts = urllib.parse.urlsplit(url)
    env = {**os.environ, "PGPASSWORD": urllib.parse.unquote(parts.password or "")}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "floor.sql")
        path.write_text(script)
        binary = shutil.which("pgbench") or str(devdb.find_bindir() / "pgbench")
        out = subprocess.run(
            [binary, "-n", "-M", "simple", "-c", str(clients), "-j", "2", "-T", str(seconds),
             "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
             "-U", parts.username or "postgres", "-f", str(path), "-l",
             "--log-prefix", f"{tmp}/log", parts.path.lstrip("/")],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        # Per-transaction log lines: client, transaction, latency in µs, …
        latencies = [int(line.split()[2]) / 1000 for log in Path(tmp).glob("log*")
                     for line in log.read_text().splitlines()]  # fmt: skip
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))  # type: ignore[union-attr]
    stats = percentiles(latencies)
    return {"requests": len(latencies), "rps": round(tps, 2),
            **{k: stats[k] for k in ("p50_ms", "p95_ms", "p99_ms")}}  # fmt: skip


async def check_ids(
    base: str, url: str, queries: list[Query], path: Callable[[Query], str]
) -> tuple[list[str], float]:
    """URLs whose ids differ from plain SQL's, and the mean answer size in bytes."""
    conn = await asyncpg.connect(generate.dsn(url))
    wrong, sizes = [], []
    try:
        for q in queries:
            body = await asyncio.to_thread(fetch, base + path(q))
            sizes.append(len(body))
            if ids(body) != await workload.expected_ids(conn, q):
                wrong.append(path(q))
    finally:
        await conn.close()
    return wrong, sum(sizes) / len(sizes)


def run_http(
    name: str, base: str, pid: int, url: str, case: str, queries: list[Query],
    path: Callable[[Query], str], args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    """One case against one served target: ids checked, then the load with peak RSS."""
    waited = settle(generate.dsn(url), pid)
    wrong, mean_bytes = asyncio.run(check_ids(base, url, queries[: args.sample], path))
    busy = busy_before()
    with PeakRss(pid) as rss:
        paths = [path(q) for q in queries]
        result = load(base, paths, args.duration, args.connections, long(queries[0]))
    out = {**result, "answers_per_s": answers_per_s(result, mean_bytes),
           "mean_kib": round(mean_bytes / 1024, 1), "peak_rss_mib": rss.peak_mib,
           "ids_differ": wrong, "cpu_busy_before": busy, "settled_s": waited}  # fmt: skip
    print(name, case, out)
    return out


def table(title: str, doc: dict[str, Any]) -> str:
    head = (
        "| case | Frontline req/s | tipg | floor app | naive app | pgbench | naive pgbench "
        "| Frontline/tipg | Frontline/floor app | Frontline/naive app | Frontline/pgbench "
        "| Frontline/naive | p99 ms F / t / app / pgb | peak RSS MiB F / t / app |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )
    rows = []
    for case, r in doc["cases"].items():
        f, t, a, p = (r[k] for k in ("frontline", "tipg", "floor_app", "pgbench"))
        rows.append(
            f"| {case} | {f['answers_per_s']} | {t['answers_per_s']} | {a['answers_per_s']} | "
            f"{r['naive_app']['answers_per_s']} | "
            f"{p['rps']} | {r['pgbench_naive']['rps']} | {r['ratio_frontline_tipg']} | "
            f"{r['ratio_frontline_floor_app']} | {r['ratio_frontline_naive_app']} | "
            f"{r['ratio_frontline_pgbench']} | "
            f"{r['ratio_frontline_pgbench_naive']} | {f['p99_ms']} / {t['p99_ms']} / "
            f"{a['p99_ms']} / {p['p99_ms']} | {f['peak_rss_mib']} / {t['peak_rss_mib']} / "
            f"{a['peak_rss_mib']} |"
        )
    return f"{title}\n\n{head}\n" + "\n".join(rows)


def measure_all(
    url: str, cases: dict[str, list[Query]], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Case by case, every target in turn, so that other work on the machine (a shared box)
    falls on all of them alike; each target waits for the previous one to finish."""
    plain, w = generate.dsn(url), args.workers
    tipg_env = {"TIPG_DB_TABLES": '["public.bench_events"]', "TIPG_MAX_FEATURES_PER_QUERY":
                "100000", "TIPG_DEFAULT_FEATURES_LIMIT": "10"}  # fmt: skip
    targets = {
        "frontline": (served(url, w), frontline_path),
        "tipg": (served(plain, w, app="tipg.main:app", python=str(ensure_tipg()),
                        health="/healthz", env=tipg_env, cwd=BENCH_DIR), tipg_path),
        "floor_app": (served(plain, w, app="bench.floor_app:app", cwd=REPO_ROOT), frontline_path),
        "naive_app": (served(plain, w, app="bench.floor_app:app", cwd=REPO_ROOT,
                             env={"FLOOR_TABLE": "naive"}), frontline_path),
    }  # fmt: skip
    measured: dict[str, dict[str, Any]] = {
        name: {} for name in [*targets, "pgbench", "pgbench_naive"]
    }
    with ExitStack() as stack:
        running = {name: stack.enter_context(server) for name, (server, _) in targets.items()}
        for case, queries in cases.items():
            for name, (base, process) in running.items():
                path = targets[name][1]
                measured[name][case] = run_http(name, base, process.pid, url, case, queries,
                                                path, args)  # fmt: skip
            settle(plain, None)
            for name, build in (("pgbench", statement), ("pgbench_naive", naive.statement)):
                script = pgbench_script(queries, LIMITS[case], build)
                measured[name][case] = pgbench(plain, script, args.duration, args.connections)
                print(name, case, measured[name][case])
                settle(plain, None)
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    generate.add_distribution_argument(parser)
    add_load_arguments(parser, sample=3, output="compare")
    args = parser.parse_args()
    url, data, every = workload.loaded(args.events, args.distribution)
    plain = generate.dsn(url)
    cases = {case: every[case] for case in COMPARED}
    asyncio.run(_execute(plain, VIEW))
    asyncio.run(naive.ensure_table(plain))
    try:
        measured = measure_all(url, cases, args)
    finally:  # the view pins events' columns: migrations could not change them
        asyncio.run(_execute(plain, "DROP VIEW IF EXISTS bench_events"))
    doc_cases: dict[str, Any] = {}
    for case in cases:
        row = {name: measured[name][case] for name in measured}
        fl = row["frontline"]["answers_per_s"]
        for name in ("tipg", "floor_app", "naive_app", "pgbench", "pgbench_naive"):
            other = row[name].get("answers_per_s", row[name]["rps"])
            row[f"ratio_frontline_{name}"] = round(fl / other, 2) if other else None
        doc_cases[case] = row
    command = "python -m bench.compare " + " ".join(sys.argv[1:])
    doc = {"benchmark": "frontline-vs-peers", "machine": machine(), "data": data,
           "command": command, "revision": revision(), "when": time.strftime("%Y-%m-%d %H:%M"),
           "client": f"wrk / pgbench, {args.connections} connections, {args.duration} s each",
           "workers": args.workers, "cases": doc_cases}  # fmt: skip
    title = (f"{args.events} events, {args.workers} workers each, {args.connections} "
             f"connections (`{command}`); req/s, higher is better")  # fmt: skip
    write_results(args.output, doc, table(title, doc))


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


if __name__ == "__main__":
    main()
