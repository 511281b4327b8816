"""What the shared write rate limits cost a write: sequential POST /events, limits off and on.

    .venv/bin/python -m bench.write_limits [--writes 400]

With limits on (a limit no run reaches), each write also takes a token of its address's and
its key's bucket in PostgreSQL (app.store.ratelimits, two upserts); off (0), it does not.
Runs alternate off, on, on, off on one seeded database of the bench cluster, one worker.
Results: bench/results/write_limits.{json,md}.
"""

import argparse
import asyncio
import json
import os
import statistics
import time
import urllib.request

from bench.common import bench_database, machine, percentiles, revision, served, write_results
from bench.soak import prepare

EVENT = {"title": "Shelling reported in Sudzha", "event_type": "shelling",
         "occurred_at": "2025-03-10T00:00:00Z", "place": "sudzha"}  # fmt: skip
WARM_UP = 30


def _writes(base: str, key: str, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(EVENT).encode()
    times = []
    for n in range(WARM_UP + count):
        request = urllib.request.Request(f"{base}/events", body, headers, method="POST")  # noqa: S310
        start = time.perf_counter()
        with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback)
            answer.read()
        if n >= WARM_UP:
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writes", type=int, default=400)
    args = parser.parse_args()
    url = bench_database("write_limits")
    key = asyncio.run(prepare(url))
    runs = []
    for limited in (False, True, True, False):
        per_minute = "1000000000" if limited else "0"
        os.environ["FRONTLINE_WRITES_PER_MINUTE_PER_KEY"] = per_minute
        os.environ["FRONTLINE_WRITES_PER_MINUTE_PER_IP"] = per_minute
        with served(url) as (base, _):
            times = _writes(base, key, args.writes)
        runs.append({"limits": limited, "median_ms": statistics.median(times),
                     **percentiles(times)})  # fmt: skip
    rows = "\n".join(f"| {'on' if r['limits'] else 'off'} | {r['median_ms']:.2f} | "
                     f"{r['p95_ms']:.2f} |" for r in runs)  # fmt: skip
    table = (f"Sequential POST /events, {args.writes} per run (`python -m bench.write_limits`)\n\n"
             "| limits | median ms | p95 ms |\n|---|---:|---:|\n" + rows)  # fmt: skip
    doc = {
        "benchmark": "write_limits",
        "machine": machine(),
        "revision": revision(),
        "command": f"python -m bench.write_limits --writes {args.writes}",
        "runs": runs,
    }
    write_results("write_limits", doc, table)


if __name__ == "__main__":
    main()
