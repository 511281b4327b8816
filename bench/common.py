"""Shared pieces of the benchmarks: a private PostGIS cluster, a served app, statistics.

The benchmarks run against their own cluster under `.data/bench` (never the `make run`
database), or against `BENCH_DATABASE_URL` when it is set.
"""

import json
import os
import platform
import signal
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

from app.settings import REPO_ROOT
from app.store import devdb, migrate

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


_WITH_SERVE_PROTOCOL = (
    "import uvicorn; from app.web.http import Utf8RequestLineProtocol as P; "
    "uvicorn.run('app.main:create_app', factory=True, host='127.0.0.1', port={port}, "
    "workers={workers}, log_level='warning', access_log=False, http=P)"
)


@contextmanager
def served(
    url: str,
    workers: int = 1,
    *,
    app: str = "app.main:create_app",
    python: str = sys.executable,
    health: str = "/health",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    serve_protocol: bool = False,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """An ASGI app (Frontline by default) under uvicorn on a free port: its base URL, process.

    `url` is given as DATABASE_URL; `python` may be another venv's (tipg runs in its own).
    `serve_protocol`: with the HTTP protocol `frontline serve` runs (app.web.http), which
    uvicorn's command line cannot name; the same settings otherwise.
    """
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, **(env or {})}
    factory = ["--factory"] if app == "app.main:create_app" else []
    command = [python, "-m", "uvicorn", app, *factory,
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    if serve_protocol:
        command = [python, "-c", _WITH_SERVE_PROTOCOL.format(port=port, workers=workers)]
    # Its own process group, so that the workers can be killed with it if they hang.
    process = subprocess.Popen(command, env=env, cwd=cwd, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}{health}", process)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:  # still busy with answers nobody reads any more
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


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


EVENT = {"title": "Shelling reported in Sudzha", "event_type": "shelling",
         "occurred_at": "2025-03-10T00:00:00Z", "place": "sudzha"}  # fmt: skip


def create_event_request(base: str, key: str) -> urllib.request.Request:
    """POST /events of EVENT (a place, no citation) with a write key."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = json.dumps(EVENT).encode()
    return urllib.request.Request(f"{base}/events", body, headers, method="POST")  # noqa: S310


def sequential_ms(request: urllib.request.Request | str, count: int, warm_up: int = 30
                  ) -> list[float]:  # fmt: skip
    """Milliseconds of each of ``count`` answers to ``request``, one at a time, after
    ``warm_up`` untimed ones."""
    times = []
    for n in range(warm_up + count):
        start = time.perf_counter()
        with urllib.request.urlopen(request) as answer:  # noqa: S310 (loopback)
            answer.read()
        if n >= warm_up:
            times.append((time.perf_counter() - start) * 1000)
    return times


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


def revision() -> str:
    """The commit benchmarked, marked dirty when app/ has uncommitted changes."""

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, cwd=REPO_ROOT)
        return out.stdout.strip()

    dirty = " + uncommitted changes in app/" if git("status", "--porcelain", "app") else ""
    return git("rev-parse", "--short", "HEAD") + dirty


def write_results(name: str, doc: dict[str, Any], table: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)
