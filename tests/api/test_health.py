"""Operations endpoints, and what clients see when the database is down."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.store.migrate import head_revision
from tests.conftest import client_for, settings_for


def test_health_does_not_need_the_database() -> None:
    with client_for("postgresql+asyncpg://nobody:x@127.0.0.1:9/none") as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_the_migration_head(seeded_url: str) -> None:
    with client_for(seeded_url) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    port = seeded_url.split("@127.0.0.1:")[1].split("/")[0]
    assert response.json() == {
        "status": "ready",
        "migration": head_revision(),
        "databases": [
            {"role": "primary", "name": f"127.0.0.1:{port}/frontline_seeded", "state": "healthy"}
        ],
    }


def test_ready_is_503_when_the_schema_is_missing(cluster: object, fresh_url: str) -> None:
    # A database that exists but was never migrated.
    url = fresh_url.rsplit("/", 1)[0] + "/postgres"
    with client_for(url) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_database_down_gives_503_problem_not_a_traceback() -> None:
    with client_for("postgresql+asyncpg://nobody:x@127.0.0.1:9/none") as client:
        for path in ("/events", "/events/1", "/places", "/places/sudzha", "/ready"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            body = response.json()
            assert body["title"] == "Service unavailable"
            assert "Traceback" not in response.text and "asyncpg" not in response.text


@contextmanager
def span_bound_locked(url: str) -> Iterator[None]:
    """Another session holds the table behind earliest_start_covering() (migration 0007),
    which a time-filtered statement reads when it runs, after it was prepared."""
    held, release = threading.Event(), threading.Event()

    async def hold() -> None:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE event_span_bound IN ACCESS EXCLUSIVE MODE")
                held.set()
                await asyncio.to_thread(release.wait, 30)
        finally:
            await conn.close()

    holder = threading.Thread(target=lambda: asyncio.run(hold()))
    holder.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        holder.join()


@pytest.mark.parametrize("path", ["/events", "/events/export", "/events/export?f=csv"])
def test_a_statement_timeout_is_503_not_500(fresh_url: str, path: str) -> None:
    """Pages and exports (whose first batch comes through a server-side cursor, where the
    driver's error is not wrapped) answer 'retry later' when the database is too slow."""
    url = path + ("&" if "?" in path else "?") + "datetime=2025-03-01/2025-04-01"
    with client_for(fresh_url, statement_timeout_ms=300) as client, span_bound_locked(fresh_url):
        response = client.get(url)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    assert "too slow" in response.json()["detail"]


def test_raw_driver_errors_are_answered_like_wrapped_ones(fresh_url: str) -> None:
    """asyncpg errors that SQLAlchemy leaves unwrapped (a server-side cursor's fetch: a 10M
    export's first batch timed out this way) get the same 503, and other ones a 500
    problem, never a bare traceback."""
    app = create_app(settings_for(fresh_url))

    @app.get("/raise/{kind}")
    async def fail(kind: str) -> None:
        if kind == "timeout":
            raise asyncpg.QueryCanceledError("canceling statement due to statement timeout")
        if kind == "gone":
            raise asyncpg.ConnectionDoesNotExistError("connection was closed")
        raise asyncpg.UndefinedColumnError('column "x" does not exist')

    with TestClient(app, raise_server_exceptions=False) as client:
        statuses = {kind: client.get(f"/raise/{kind}") for kind in ("timeout", "gone", "bug")}
    assert {kind: r.status_code for kind, r in statuses.items()} == {
        "timeout": 503,
        "gone": 503,
        "bug": 500,
    }
    for response in statuses.values():
        assert response.headers["content-type"] == "application/problem+json"
