"""Operations endpoints, and what clients see when the database is down."""

from app.migrate import head_revision
from tests.conftest import client_for


def test_health_does_not_need_the_database() -> None:
    with client_for("postgresql+asyncpg://nobody:x@127.0.0.1:9/none") as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_the_migration_head(seeded_url: str) -> None:
    with client_for(seeded_url) as client:
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "migration": head_revision()}


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
