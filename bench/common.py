"""Shared pieces of the benchmarks: a private PostGIS cluster, a served app, statistics.

The benchmarks run against their own cluster under `.data/bench` (never the `make run`
database), or against `BENCH_DATABASE_URL` when it is set.
"""

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app import devdb, migrate
from app.settings import REPO_ROOT

BENCH_DIR = REPO_ROOT / ".data" / "bench"
BENCH_PORT = 54339
RESULTS = REPO_ROOT / "bench" / "results"


def bench_database(name: str) -> str:
    """A migrated database in the bench cluster (created on first use), as an asyncpg URL."""
    if url := os.environ.get("BENCH_DATABASE_URL"):
        return url
    cluster = devdb.start(BENCH_DIR, BENCH_PORT)
    if not devdb.database_exists(cluster, name):
        devdb.create_database(cluster, name)
    url = cluster.url(name)
    migrate.upgrade(url)
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def served(url: str, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Frontline under uvicorn on a free port; yields its base URL and process."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/health", process)
        yield base, process
    finally:
        process.terminate()
        process.wait(timeout=20)


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310
                return
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.2)


def percentiles(samples_ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "mean_ms": round(statistics.fmean(ordered), 2),
            "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1], 2)}  # fmt: skip


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.platform()}  # fmt: skip


def write_results(name: str, doc: dict[str, Any], table: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)
