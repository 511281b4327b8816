"""CPU per answer, by process: the app and PostgreSQL, for Frontline and the floor app.

    .venv/bin/python -m bench.cpu --events 1000000 [--case small] [--seconds 15]
        [--distribution scatter] [--output cpu_medium]

One worker each serves the case's URLs to wrk (8 connections); the CPU time (user + system,
from /proc) of the app process and of every process of the bench cluster, over the run,
divided by the answers. Requests/s on two shared cores follow the sum: where the two apps'
database share is equal, what is left between them is the app's own CPU per answer.
Results: bench/results/cpu.{json,md}.
"""

import os
import sys
from pathlib import Path

from bench import generate, workload
from bench.common import BENCH_DIR, served, write_results
from bench.measure import WARM_UP_S, wrk

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
TARGETS = {"frontline": "app.main:create_app", "floor_app": "bench.floor_app:app"}


def cpu_ms(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a backend that ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total * TICK_MS


def cluster_pids() -> list[int]:
    """The postmaster of the bench cluster and its children (backends, walwriter...)."""
    postmaster = int((BENCH_DIR / "postgres" / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


def measure(url: str, app: str, paths: list[str], seconds: int) -> dict[str, float]:
    env = {"DATABASE_URL": generate.dsn(url)} if app != TARGETS["frontline"] else None
    with served(url, 1, app=app, env=env) as (base, process):
        wrk(base, paths, WARM_UP_S, 8)  # warm: pool, prepared statements, caches
        app_before, db_before = cpu_ms([process.pid]), cpu_ms(pids := cluster_pids())
        run = wrk(base, paths, seconds, 8)
        app_ms = cpu_ms([process.pid]) - app_before
        db_ms = cpu_ms(pids + [p for p in cluster_pids() if p not in pids]) - db_before
    answers = run["requests"]
    return {"answers": answers, "rps": run["rps"], "app_cpu_ms": round(app_ms / answers, 2),
            "postgres_cpu_ms": round(db_ms / answers, 2)}  # fmt: skip


def main() -> None:
    args, url, paths = workload.one_case(__doc__)
    results = {name: measure(url, app, paths, args.seconds) for name, app in TARGETS.items()}
    command = "python -m bench.cpu " + " ".join(sys.argv[1:])
    rows = "\n".join(
        f"| {name} | {r['rps']} | {r['app_cpu_ms']} | {r['postgres_cpu_ms']} |"
        for name, r in results.items()
    )
    table = (f"CPU per answer, one worker each, case {args.case}, {args.events} events "
             f"(`{command}`)\n\n| target | req/s | app CPU ms | PostgreSQL CPU ms |\n"
             f"|---|---:|---:|---:|\n{rows}")  # fmt: skip
    doc = {"command": command, "case": args.case, "results": results}
    write_results(args.output or "cpu", doc, table)


if __name__ == "__main__":
    main()
