"""What the shared write rate limits cost a write: sequential POST /events, limits off and on.

    .venv/bin/python -m bench.write_limits [--writes 400]

With limits on (a limit no run reaches), each write also takes a token of its address's and
its key's bucket in PostgreSQL (app.store.ratelimits, two upserts); off (0), it does not.
Runs alternate off, on, on, off on one seeded database of the bench cluster, one worker.
Results: bench/results/write_limits.{json,md}.
"""

import argparse
import asyncio
import os
import statistics

from bench.common import (
    bench_database,
    create_event_request,
    machine,
    percentiles,
    revision,
    sequential_ms,
    served,
    write_results,
)
from bench.soak import prepare


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
            times = sequential_ms(create_event_request(base, key), args.writes)
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
