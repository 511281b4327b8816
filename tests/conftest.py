"""Shared fixtures: a throwaway PostGIS cluster for the whole run, migrated once.

Every test database is cloned from a migrated template, so tests never touch the run
database under .data/ and a writing test never disturbs another.
"""

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.seed import seed
from app.main import create_app
from app.settings import Settings
from app.store import devdb, migrate
from app.store.engine import make_engine

TEMPLATE_DB = "frontline_template"
SEEDED_DB = "frontline_seeded"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def cluster() -> Iterator[devdb.Cluster]:
    base = Path(tempfile.mkdtemp(prefix="frontline-test-"))
    running = devdb.start(base, free_port(), ephemeral=True)
    try:
        devdb.create_database(running, TEMPLATE_DB)
        migrate.upgrade(running.url(TEMPLATE_DB))
        yield running
    finally:
        devdb.stop(base)
        shutil.rmtree(base, ignore_errors=True)


def execute(url: str, statement: str) -> list[Any] | None:
    """One SQL statement in a transaction of its own: its rows, when it returns any."""

    async def run() -> list[Any] | None:
        engine = make_engine(url, settings_for(url))
        try:
            async with engine.begin() as conn:
                result = await conn.execute(text(statement))
                return list(result.all()) if result.returns_rows else None
        finally:
            await engine.dispose()

    return asyncio.run(run())


DATA_TABLES = ("places", "place_names", "sources", "events", "event_sources", "event_revisions")


def seed_into(url: str) -> None:
    """The founding seeds, loaded into the database at ``url``."""

    async def run() -> None:
        engine = make_engine(url, settings_for(url))
        try:
            await seed(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def dump_tables(url: str, tables: Sequence[str] = DATA_TABLES) -> dict[str, list[str]]:
    """Every row of the tables as sorted JSON text: equal dumps mean nothing was written."""

    async def read() -> dict[str, list[str]]:
        engine = make_engine(url, settings_for(url))
        try:
            async with engine.connect() as conn:
                return {
                    table: sorted(
                        json.dumps(row, sort_keys=True, default=str)
                        for row in (
                            await conn.execute(text(f"SELECT to_jsonb(t) FROM {table} t"))
                        ).scalars()
                    )
                    for table in tables
                }
        finally:
            await engine.dispose()

    return asyncio.run(read())


def settings_for(url: str, **overrides: object) -> Settings:
    return Settings.model_validate({"DATABASE_URL": url, **overrides})


@pytest.fixture(scope="session")
def seeded_url(cluster: devdb.Cluster) -> str:
    """A database with the seeds loaded; read-only tests share it."""
    devdb.create_database(cluster, SEEDED_DB, template=TEMPLATE_DB)
    url = cluster.url(SEEDED_DB)

    async def load() -> None:
        engine = make_engine(url, settings_for(url))
        try:
            await seed(engine)
        finally:
            await engine.dispose()

    asyncio.run(load())
    return url


def with_engine(url: str, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """``work`` run with an engine on ``url`` of its own, disposed afterwards."""

    async def run() -> T:
        engine = make_engine(url, settings_for(url))
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def scratch_database(
    cluster: devdb.Cluster, prefix: str, load: Callable[[AsyncEngine], Awaitable[T]]
) -> Iterator[tuple[str, T]]:
    """A migrated database of a module's own, filled by ``load``: its URL and what ``load``
    returned; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    devdb.create_database(cluster, name, template=TEMPLATE_DB)
    url = cluster.url(name)
    try:
        yield url, with_engine(url, load)
    finally:
        devdb.drop_database(cluster, name)


@pytest.fixture
def fresh_url(cluster: devdb.Cluster) -> Iterator[str]:
    """An empty migrated database of the test's own, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    devdb.create_database(cluster, name, template=TEMPLATE_DB)
    try:
        yield cluster.url(name)
    finally:
        devdb.drop_database(cluster, name)


@contextmanager
def client_for(url: str, **overrides: object) -> Iterator[TestClient]:
    """A client over a fresh app (lifespan and all) bound to the database at ``url``."""
    with TestClient(create_app(settings_for(url, **overrides))) as client:
        yield client


@pytest.fixture(scope="module")
def seeded_client(seeded_url: str) -> Iterator[TestClient]:
    with client_for(seeded_url) as client:
        yield client


def event_properties(base: str, query: str) -> list[dict[str, Any]]:
    """A live server's own answer to /events (an oracle for other clients): every matching
    event's properties."""
    with urllib.request.urlopen(f"{base}/events?limit=10000&{query}") as answer:  # noqa: S310
        features: list[dict[str, Any]] = json.load(answer)["features"]
    return [feature["properties"] for feature in features]


@contextmanager
def live_server(
    url: str,
    access_log: Path | None = None,
    frontline_serve: bool = False,
    settings: dict[str, str] | None = None,
) -> Iterator[str]:
    """The real app under uvicorn on a free port, for clients that speak HTTP themselves;
    with ``access_log``, every request it answers is written there (uvicorn's access log);
    ``frontline_serve``: started as `frontline serve` starts it (the database is ready);
    ``settings``: more environment variables (FRONTLINE_…) for the server."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, **(settings or {})}
    level = "info" if access_log else "warning"
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", level]  # fmt: skip
    if frontline_serve:
        command = [sys.executable, "-m", "app.cli", "serve", "--no-migrate", "--no-seed",
                   "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log = access_log.open("w") if access_log else None
    process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1):  # noqa: S310
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the test server did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if log is not None:
            log.close()
