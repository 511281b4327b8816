"""Where a Frontline worker spends its CPU: py-spy samples under a workload case, by part.

    .venv/bin/python -m bench.profile --events 1000000 [--case small] [--seconds 15]

One worker (so one process to sample) serves the case's URLs to wrk (8 connections) while
py-spy samples it; samples of idle waits are left out and the rest is attributed to the parts
below (a sample can count for several, e.g. the ETag is part of building the response).
Results: bench/results/profile.{json,md}; the collapsed stacks: .data/bench/profile.folded.
"""

import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench import workload
from bench.common import BENCH_DIR, served, write_results
from bench.measure import LUA, ensure_wrk

PARTS = {
    "request handler (app.web.views.events_page)": "events_page (app/web/views.py",
    "· asyncpg: bind, execute, receive the page": "PreparedStatement.fetch (asyncpg",
    "· SQLAlchemy: result rows": "(sqlalchemy/engine/result.py",
    "· BEGIN + ROLLBACK around each statement": "Transaction.",
    "· pool pre-ping": "_async_ping",
    "· the statement of the shape, the values (app.store.queries)": "(app/store/queries/",
    "· SQLAlchemy compile / cache key": "_generate_cache_key",
    "· ETag over the page (app.web.responses.etag_of*)": "etag_of",
    "FastAPI parameter parsing (solve_dependencies)": "solve_dependencies",
    "sync body iterated through the thread pool": "iterate_in_threadpool",
    "uvicorn sending the body": "RequestResponseCycle.send",
}
IDLE = ("Condition.wait", "Runner.run", "select (", "_worker (concurrent")


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "py-spy"], check=True)
        found = str(Path(sys.executable).parent / "py-spy")
    return found


def summarise(folded: Path) -> tuple[int, dict[str, float]]:
    busy, counts = 0, Counter[str]()
    for line in folded.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        if not leaf.strip() or leaf.startswith(IDLE):
            continue
        busy += int(n)
        for part, pattern in PARTS.items():
            if pattern in stack:
                counts[part] += int(n)
    return busy, {part: round(100 * counts[part] / max(1, busy), 1) for part in PARTS}


def main() -> None:
    args, url, case_paths = workload.one_case(__doc__)
    paths = BENCH_DIR / "profile.paths"
    paths.write_text("\n".join(case_paths) + "\n")
    folded = BENCH_DIR / "profile.folded"
    with served(url, 1) as (base, process):
        load = subprocess.Popen(
            [ensure_wrk(), "-t", "2", "-c", "8", "-d", f"{args.seconds + 4}s", "-s", str(LUA),
             base, "--", str(paths)], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(2)
        subprocess.run([py_spy(), "record", "--pid", str(process.pid), "--duration",
                        str(args.seconds), "--rate", "200", "--format", "raw",
                        "-o", str(folded)], check=True, capture_output=True)  # fmt: skip
        load.wait()
    paths.unlink()
    busy, shares = summarise(folded)
    command = "python -m bench.profile " + " ".join(sys.argv[1:])
    rows = "\n".join(f"| {part} | {share} |" for part, share in shares.items())
    table = (f"py-spy, one worker, case {args.case}, {args.events} events, {busy} busy samples "
             f"(`{command}`)\n\n| part | % of busy samples |\n|---|---:|\n{rows}")  # fmt: skip
    write_results("profile", {"command": command, "busy_samples": busy, "shares": shares}, table)


if __name__ == "__main__":
    main()
