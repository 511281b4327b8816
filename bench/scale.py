"""How Frontline scales: the small and medium cases at 1M and 10M events, and a whole-table
GeoJSON export streamed by one client, with the server's memory sampled throughout.

    .venv/bin/python -m bench.scale --sizes 1000000,10000000 [--duration 20]

Each size is a bench database `events_<N>` (`bench.generate`, loaded when missing: about 15
minutes and 15 GB for 10M). Per size: the ids of a sample of URLs are checked against SQL,
the two cases run under wrk (8 connections, 2 workers), then `/events/export` with no filter
is downloaded once, counting bytes and features as they arrive. Results:
bench/results/scale.{json,md}.
"""

import argparse
import asyncio
import sys
import time
import urllib.request
from typing import Any

from bench import generate, workload
from bench.common import machine, revision, served, write_results
from bench.measure import (
    PeakRss,
    add_load_arguments,
    case_under_load,
    settle,
)
from bench.run import check
from bench.workload import frontline_path

CASES = ("small", "medium")
CHUNK = 1 << 20


def stream_export(base: str) -> dict[str, Any]:
    """One download of every live event as GeoJSON: bytes, features, seconds, MB/s."""
    request = urllib.request.Request(  # noqa: S310 (our own server)
        f"{base}/events/export", headers={"Accept-Encoding": "identity"}
    )
    size = features = 0
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310
        while chunk := response.read(CHUNK):
            size += len(chunk)
            features += chunk.count(b'{"type":"Feature"')
    seconds = time.perf_counter() - started
    return {"bytes": size, "features": features, "seconds": round(seconds, 1),
            "mb_s": round(size / seconds / 1e6, 1)}  # fmt: skip


def run_size(n: int, args: argparse.Namespace) -> dict[str, Any]:
    url, data, every = workload.loaded(n)
    cases = {case: every[case] for case in CASES}
    out: dict[str, Any] = {"events": n, "load": data.get("load")}
    with served(url, args.workers) as (base, process):
        out["checks"] = asyncio.run(check(base, url, cases, args.sample))
        for case, queries in cases.items():
            paths = [frontline_path(q) for q in queries]
            out[case] = case_under_load(base, generate.dsn(url), process.pid, paths,
                                        out["checks"][case]["mean_kib"], args)  # fmt: skip
            print(n, case, out[case])
        settle(generate.dsn(url), process.pid)
        with PeakRss(process.pid) as idle:
            time.sleep(1)
        with PeakRss(process.pid) as rss:
            export = stream_export(base)
        out["export_all"] = {**export, "idle_rss_mib": idle.peak_mib, "peak_rss_mib": rss.peak_mib,
                             "process_idle_mib": idle.process_peak_mib,
                             "process_peak_mib": rss.process_peak_mib}  # fmt: skip
        print(n, "export_all", out["export_all"])
    return out


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| events | case | features/answer | req/s | p50 ms | p95 ms | p99 ms "
             "| peak RSS MiB | ids |", "|---:|---|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    for r in results:
        for case in CASES:
            c, m = r["checks"][case], r[case]
            ok = "same" if not c["wrong"] else f"{len(c['wrong'])} differ"
            lines.append(f"| {r['events']} | {case} | {c['mean_features']} | "
                         f"{m['answers_per_s']} | {m['p50_ms']} | {m['p95_ms']} | "
                         f"{m['p99_ms']} | {m['peak_rss_mib']} | {ok} |")  # fmt: skip
    lines += ["", "| events | export features | MB | seconds | MB/s "
              "| server RSS idle → peak MiB | largest process idle → peak MiB |",
              "|---:|---:|---:|---:|---:|---|---|"]  # fmt: skip
    for r in results:
        e = r["export_all"]
        lines.append(f"| {r['events']} | {e['features']} | {round(e['bytes'] / 1e6)} | "
                     f"{e['seconds']} | {e['mb_s']} | {e['idle_rss_mib']} → "
                     f"{e['peak_rss_mib']} | {e.get('process_idle_mib')} → "
                     f"{e.get('process_peak_mib')} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000000,10000000")
    add_load_arguments(parser, sample=3, output="scale")
    args = parser.parse_args()
    results = [run_size(int(n), args) for n in args.sizes.split(",")]
    command = "python -m bench.scale " + " ".join(sys.argv[1:])
    doc = {"benchmark": "frontline-scale", "machine": machine(), "command": command,
           "revision": revision(), "when": time.strftime("%Y-%m-%d %H:%M:%S"),
           "workers": args.workers, "results": results}  # fmt: skip
    title = f"Frontline at growing sizes (`{command}`)"
    write_results(args.output, doc, f"{title}\n\n{table(results)}")


if __name__ == "__main__":
    main()
