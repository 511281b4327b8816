"""What a transaction-mode PgBouncer costs a request: sequential reads and writes, direct
connections against PgBouncer 1.18 (pool_mode=transaction) with FRONTLINE_TRANSACTION_POOLING.

    .venv/bin/python -m bench.pooling [--requests 400]

Behind the pooler every statement runs in a transaction that opens with the session settings
(BEGIN, one set_config statement, COMMIT: app.store.engine), statements are unnamed and
planned each time, and every message passes one more process. One worker, one seeded
database of the bench cluster; runs alternate direct, pooled, pooled, direct.
Results: bench/results/pooling.{json,md}.
"""

import argparse
import asyncio
import statistics

from app.store import devdb
from bench.common import (
    BENCH_DIR,
    BENCH_PORT,
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
from tests.rig import pgbouncer, via

READS = {
    "small page": "/events?bbox=34.5,50.8,35.8,51.6&limit=10",
    "one event": "/events/1",
    "place search": "/places/search?q=Sudja",
}
# Rate limits off: their cost is bench.write_limits', and 400 writes a run would pass them.
UNLIMITED = {"FRONTLINE_WRITES_PER_MINUTE_PER_KEY": "0", "FRONTLINE_WRITES_PER_MINUTE_PER_IP": "0"}


def _cases(base: str, key: str, count: int) -> dict[str, list[float]]:
    times = {case: sequential_ms(base + path, count) for case, path in READS.items()}
    times["create event"] = sequential_ms(create_event_request(base, key), count)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    url = bench_database("pooling")
    key = asyncio.run(prepare(url))
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    runs = []
    with pgbouncer(cluster, pool_size=4) as port:
        for pooled in (False, True, True, False):
            env = {**UNLIMITED, **({"FRONTLINE_TRANSACTION_POOLING": "true"} if pooled else {})}
            with served(via(url, port) if pooled else url, env=env) as (base, _):
                for case, times in _cases(base, key, args.requests).items():
                    median = statistics.median(times)
                    runs.append({"pooled": pooled, "case": case, "median_ms": median,
                                 **percentiles(times)})  # fmt: skip
    rows = "\n".join(f"| {r['case']} | {'PgBouncer' if r['pooled'] else 'direct'} | "
                     f"{r['median_ms']:.2f} | {r['p95_ms']:.2f} |" for r in runs)  # fmt: skip
    command = f"python -m bench.pooling --requests {args.requests}"
    table = (
        f"Sequential requests, {args.requests} per case and run (`{command}`)\n\n"
        "| case | connection | median ms | p95 ms |\n|---|---|---:|---:|\n" + rows
    )
    doc = {"benchmark": "pooling", "machine": machine(), "revision": revision(),
           "command": command, "runs": runs}  # fmt: skip
    write_results("pooling", doc, table)


if __name__ == "__main__":
    main()
