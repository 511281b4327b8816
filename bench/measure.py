"""Measuring one target: wrk for throughput and latency, /proc for peak RSS, ids for correctness."""

import argparse
import asyncio
import csv
import http.client
import io
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg

LUA = Path(__file__).with_name("paths.lua")


def ensure_wrk() -> str:
    """wrk from Debian, installed on first use when we are root."""
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is missing: sudo apt-get install wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env)
    return shutil.which("wrk") or "wrk"


def wrk(base: str, paths: Sequence[str], seconds: int, connections: int) -> dict[str, Any]:
    """Requests/s, latency percentiles (ms) and MB/s of `connections` clients cycling `paths`."""
    with tempfile.NamedTemporaryFile("w", suffix=".paths") as listing:
        listing.write("\n".join(paths) + "\n")
        listing.flush()
        threads = str(min(2, connections))
        out = subprocess.run(
            [ensure_wrk(), "-t", threads, "-c", str(connections), "-d", f"{seconds}s",
             "--timeout", "120s", "-s", str(LUA), base, "--", listing.name],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    raw = json.loads(out.stdout.strip().splitlines()[-1])
    seconds_run = raw["duration_us"] / 1e6
    errors = {k: v for k, v in raw["errors"].items() if v}
    return {
        "requests": raw["requests"],
        "rps": round(raw["requests"] / seconds_run, 2),
        **{f"{k}_ms": round(raw["latency_us"][k] / 1000, 2) for k in ("p50", "p95", "p99")},
        "mean_ms": round(raw["latency_us"]["mean"] / 1000, 2),
        "mb_s": round(raw["bytes"] / seconds_run / 1e6, 2),
        "errors": errors,
    }


def fixed_count(
    base: str, paths: Sequence[str], connections: int, per_client: int = 2
) -> dict[str, Any]:
    """For answers that take seconds (exports): `connections` clients fetch `per_client` each.

    A fixed wrk duration would cut most of them off, and servers that build the whole body
    before sending it would show nothing at all.
    """
    parts = urllib.parse.urlsplit(base)
    latencies: list[float] = []
    received = [0]
    failures: list[int] = []

    def client(k: int) -> None:
        for j in range(per_client):
            started = time.perf_counter()
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=600)
            conn.request("GET", paths[(k * per_client + j) % len(paths)])
            response = conn.getresponse()
            while chunk := response.read(1 << 20):
                received[0] += len(chunk)
            conn.close()
            if response.status != 200:
                failures.append(response.status)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    at = {
        q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)
        for q in (0.5, 0.95, 0.99)
    }
    return {"requests": len(latencies), "rps": round(len(latencies) / elapsed, 2),
            "p50_ms": at[0.5], "p95_ms": at[0.95], "p99_ms": at[0.99],
            "mean_ms": round(sum(latencies) / len(latencies), 2),
            "mb_s": round(received[0] / elapsed / 1e6, 2),
            "errors": {"status": len(failures)} if failures else {}}  # fmt: skip


def add_load_arguments(parser: argparse.ArgumentParser, sample: int, output: str) -> None:
    """The options of every run that drives a served app with wrk."""
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=sample, help="URLs checked per case")
    parser.add_argument("--output", default=output, help="results name in bench/results/")


WARM_UP_S = 3


def load(
    base: str, paths: Sequence[str], seconds: int, connections: int, long_answers: bool
) -> dict[str, Any]:
    """wrk for pages, fixed_count for answers that take seconds.

    Pages are measured in the steady state: a first wrk run, not counted, fills the target's
    pool, its prepared statements and the caches of the pages it reads. Without it compare
    measured Frontline first and cold in every case (same code: small 218 -> 224, medium
    34.3 -> 39.5 req/s with it; the floor app's figures moved within the noise)."""
    if long_answers:
        return fixed_count(base, paths, connections)
    wrk(base, paths, WARM_UP_S, connections)
    return wrk(base, paths, seconds, connections)


def answers_per_s(result: dict[str, Any], mean_bytes: float) -> float:
    """Requests/s; for long answers (exports), bytes/s over the mean answer size, which also
    counts the answers still streaming when wrk stops."""
    if result["requests"] >= 50 or not mean_bytes:
        return float(result["rps"])
    return round(float(result["mb_s"]) * 1e6 / mean_bytes, 2)


def _tree(root: int) -> list[int]:
    """The process and its descendants, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakRss:
    """Peak summed VmRSS (MiB) of a process tree, sampled every 100 ms while in the block,
    and the peak of its largest process (one uvicorn worker, when there are several).

    Summing counts pages shared between uvicorn's workers twice: an upper bound.
    """

    def __init__(self, pid: int | None) -> None:
        self.pid, self.peak_mib, self.process_peak_mib = pid, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set() and self.pid is not None:
            each = [_rss_kib(pid) for pid in _tree(self.pid)]
            self.peak_mib = max(self.peak_mib, sum(each) / 1024)
            self.process_peak_mib = max(self.process_peak_mib, max(each, default=0) / 1024)
            self._stop.wait(0.1)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mib = round(self.peak_mib, 1)
        self.process_peak_mib = round(self.process_peak_mib, 1)


def _cpu_ticks(pids: list[int]) -> int:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


async def _active_queries(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND state = 'active' AND pid <> pg_backend_pid()"
        )
        return count
    finally:
        await conn.close()


def settle(dsn: str, pid: int | None, max_s: float = 180) -> float:
    """Wait until the last target is done (a server keeps working on answers wrk gave up on):
    no query running in the database, the server process tree idle. Returns seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < max_s:
        pids = _tree(pid) if pid else []
        before = _cpu_ticks(pids)
        time.sleep(0.5)
        idle = _cpu_ticks(pids) - before <= 2  # ticks are 10 ms: at most 4% of a core
        if idle and asyncio.run(_active_queries(dsn)) == 0:
            break
    return round(time.monotonic() - started, 1)


def fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=300) as response:  # noqa: S310
        body: bytes = response.read()
        return body


def ids(body: bytes, fmt: str = "geojson") -> list[int]:
    """Feature ids in answer order, from a FeatureCollection, NDJSON or CSV body (or the
    versions of a history)."""
    if fmt == "csv":
        rows = csv.reader(io.StringIO(body.decode()))
        next(rows)
        return [int(row[0]) for row in rows]
    if fmt == "ndjson":
        return [json.loads(line)["id"] for line in body.splitlines() if line]
    if fmt == "history":  # an event's revisions: their versions
        return [int(revision["version"]) for revision in json.loads(body)["revisions"]]
    return [int(feature["id"]) for feature in json.loads(body)["features"]]


def _cpu_times() -> tuple[int, int]:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait


def busy_before(seconds: float = 2.0) -> float:
    """Share of the machine's CPU busy just before a run (other people's work, on a shared box)."""
    total0, idle0 = _cpu_times()
    time.sleep(seconds)
    total1, idle1 = _cpu_times()
    return round(1 - (idle1 - idle0) / max(1, total1 - total0), 2)


def case_under_load(
    base: str, dsn: str, pid: int, paths: Sequence[str], mean_kib: float,
    args: argparse.Namespace, long_answers: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """One case against a served app whose ids were checked: once the database is quiet, the
    load (`load`), answers per second, the server's peak RSS and how busy the machine was."""
    waited = settle(dsn, pid)
    busy = busy_before()
    with PeakRss(pid) as rss:
        result = load(base, paths, args.duration, args.connections, long_answers)
    return {**result, "answers_per_s": answers_per_s(result, mean_kib * 1024),
            "peak_rss_mib": rss.peak_mib, "cpu_busy_before": busy,
            "settled_s": waited}  # fmt: skip
