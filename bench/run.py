"""Frontline under load: every workload case with wrk, peak RSS, and the ids checked by SQL.

    .venv/bin/python -m bench.run --events 1000000 [--duration 20] [--connections 8] [--workers 2]

Loads (or reuses) `events_<N>` in the bench cluster, serves Frontline with uvicorn, checks a
sample of each case's URLs against plain SQL written from the README's definitions, then
drives each case for `--duration` seconds with wrk. Results: bench/results/run.{json,md}.
"""

import argparse
import asyncio
import sys
import time
from typing import Any

import asyncpg

from bench import generate, workload
from bench.common import machine, revision, served, write_results
from bench.measure import (
    add_load_arguments,
    case_under_load,
    fetch,
    ids,
)
from bench.workload import CASES, Query, frontline_path, long


async def check(base: str, url: str, cases: dict[str, list[Query]], sample: int) -> dict[str, Any]:
    """Per case: do the first `sample` URLs return exactly the expected ids, in order?"""
    conn = await asyncpg.connect(generate.dsn(url))
    report: dict[str, Any] = {}
    try:
        for case, queries in cases.items():
            counts, sizes, wrong = [], [], []
            for q in queries[:sample]:
                body = await asyncio.to_thread(fetch, base + frontline_path(q))
                got = ids(body, q.fmt)
                if got != await workload.expected_ids(conn, q):
                    wrong.append(frontline_path(q))
                counts.append(len(got))
                sizes.append(len(body))
            report[case] = {"checked": len(counts), "wrong": wrong,
                            "mean_features": round(sum(counts) / len(counts)),
                            "mean_kib": round(sum(sizes) / len(sizes) / 1024, 1)}  # fmt: skip
    finally:
        await conn.close()
    return report


def table(title: str, results: dict[str, Any], checks: dict[str, Any]) -> str:
    head = (
        "| case | features/answer | KiB/answer | req/s | p50 ms | p95 ms | p99 ms | MB/s "
        "| peak RSS MiB | ids |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    rows = []
    for case, r in results.items():
        c = checks[case]
        ok = "same" if not c["wrong"] else f"{len(c['wrong'])} differ"
        rows.append(f"| {case} | {c['mean_features']} | {c['mean_kib']} | {r['answers_per_s']} | "
                    f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['mb_s']} | "
                    f"{r['peak_rss_mib']} | {ok} |")  # fmt: skip
    return f"{title}\n\n{head}\n" + "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", default=",".join(CASES))
    generate.add_distribution_argument(parser)
    add_load_arguments(parser, sample=5, output="run")
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a database setting for this run only (experiments)",
    )
    parser.add_argument(
        "--serve-protocol",
        action="store_true",
        help="run Frontline with the HTTP protocol of `frontline serve` (app.web.http)",
    )
    args = parser.parse_args()
    url, data, cases = workload.loaded(args.events, args.distribution)
    cases = {case: cases[case] for case in args.cases.split(",")}
    asyncio.run(database_settings(url, args.setting))
    try:
        checks, results = measure(url, cases, args)
    finally:
        asyncio.run(database_settings(url, [name.split("=")[0] for name in args.setting]))
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    doc = {"benchmark": "frontline-workload", "machine": machine(), "data": data,
           "command": command, "revision": revision(), "when": time.strftime("%Y-%m-%d %H:%M:%S"),
           "client": f"wrk, {args.connections} connections, {args.duration} s per case",
           "workers": args.workers, "settings": args.setting, "checks": checks,
           "results": results}  # fmt: skip
    title = (f"Frontline, {args.events} events, {args.workers} workers, "
             f"{args.connections} connections (`{command}`)")  # fmt: skip
    write_results(args.output, doc, table(title, results, checks))


async def database_settings(url: str, settings: list[str]) -> None:
    """ALTER DATABASE … SET name = value (or RESET name): new connections see it."""
    conn = await asyncpg.connect(generate.dsn(url))
    try:
        name = await conn.fetchval("SELECT current_database()")
        for setting in settings:
            key, _, value = setting.partition("=")
            action = f"SET {key} = '{value}'" if value else f"RESET {key}"
            await conn.execute(f'ALTER DATABASE "{name}" {action}')
    finally:
        await conn.close()


def measure(
    url: str, cases: dict[str, list[Query]], args: argparse.Namespace
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Served Frontline: the ids of a sample checked, then each case under load."""
    results: dict[str, Any] = {}
    with served(url, args.workers, serve_protocol=args.serve_protocol) as (base, process):
        checks = asyncio.run(check(base, url, cases, args.sample))
        for case, queries in cases.items():
            paths = [frontline_path(q) for q in queries]
            result = case_under_load(base, generate.dsn(url), process.pid, paths,
                                     checks[case]["mean_kib"], args, long(queries[0]))  # fmt: skip
            results[case] = {**result, "urls": len(paths), "example": paths[0]}
            print(case, results[case])
    return checks, results


if __name__ == "__main__":
    main()
