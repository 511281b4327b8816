"""Hostile input: every answer is a clean 4xx (or a correct answer) and the data is unchanged."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.test_writes import EVENT, TABLES, _prepare
from tests.conftest import client_for, dump_tables

INJECTIONS = [
    "'; DROP TABLE events; --",
    "1' OR '1'='1",
    "sudzha') UNION SELECT key_hash FROM api_keys --",
    "\\'; SELECT pg_sleep(10); --",
    "%' AND 1=1 --",
]
READ_PARAMS = ["place", "within", "q", "actor", "source", "event_type", "verification",
               "sortby", "properties", "cursor", "bbox", "datetime", "near", "updated_since",
               "as_of"]  # fmt: skip


@pytest.fixture
def api(fresh_url: str) -> Iterator[tuple[TestClient, dict[str, str], str]]:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url) as client:
        yield client, {"Authorization": f"Bearer {keys['writer']}"}, fresh_url


def test_sql_injection_in_every_read_parameter(api: tuple[TestClient, dict[str, str], str]) -> None:
    client, _, url = api
    before = dump_tables(url, TABLES)
    for param in READ_PARAMS:
        for payload in INJECTIONS:
            response = client.get("/events", params={param: payload})
            assert response.status_code in (200, 400, 422), (param, payload, response.text)
            if response.status_code != 200:
                assert response.headers["content-type"] == "application/problem+json"
                assert "SELECT" not in response.json()["detail"].upper().replace(
                    payload.upper(), ""
                )
    for payload in INJECTIONS:
        assert client.get("/places/search", params={"q": payload}).status_code in (200, 400)
        assert client.get(f"/places/{payload}").status_code == 404
    assert dump_tables(url, TABLES) == before


def test_sql_injection_in_every_body_field(api: tuple[TestClient, dict[str, str], str]) -> None:
    client, auth, _ = api
    for payload in INJECTIONS:
        body = {**EVENT, "title": payload, "description": payload, "actors": [payload],
                "tags": [payload]}  # fmt: skip
        created = client.post("/events", json=body, headers=auth)
        assert created.status_code == 201
        assert created.json()["properties"]["title"] == payload  # stored as text, verbatim
        bad_place = client.post("/events", json={**EVENT, "place": payload}, headers=auth)
        assert bad_place.status_code == 422
    assert client.get("/events").status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (json.dumps({**EVENT, "description": "x" * 10_000_000}).encode(), 413),
        (("[" * 100_000 + "]" * 100_000).encode(), 400),
        (b'{"title": "\xff\xfe broken utf-8"}', 400),
        (json.dumps({**EVENT, "title": "nul\u0000byte"}).encode(), 422),
        (json.dumps({**EVENT, "occurred_at": "0000-01-01T00:00:00Z"}).encode(), 422),
        (json.dumps({**EVENT, "occurred_at": "99999-01-01T00:00:00Z"}).encode(), 422),
        (b'{"title": 1e999}', 422),
        (b"", 422),
        (b"null", 422),
    ],
)
def test_hostile_bodies(
    api: tuple[TestClient, dict[str, str], str], body: bytes, status: int
) -> None:
    client, auth, url = api
    before = dump_tables(url, TABLES)
    response = client.post("/events", content=body,
                           headers={**auth, "Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text and "asyncpg" not in response.text
    assert dump_tables(url, TABLES) == before


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"bbox": "-180,-90,180,90", "limit": "10000"}, 200),
        ({"datetime": "0000-01-01/99999-12-31"}, 400),
        ({"datetime": "0001-01-01T00:00:00Z/9999-12-31T23:59:59Z"}, 200),
        ({"q": "x" * 6_000}, 200),
        ({"actor": "a\u0000b"}, 400),
        ({"place": "\u0000"}, 400),
        ({"near": "nan,nan", "radius": "10"}, 400),
        ({"near": "35,51", "radius": "inf"}, 400),
        ({"bbox": "1e400,0,1,1"}, 400),
        ({"cursor": "A" * 10_000}, 400),
    ],
)
def test_hostile_queries(
    api: tuple[TestClient, dict[str, str], str], params: dict[str, str], status: int
) -> None:
    client, _, _ = api
    response = client.get("/events", params=params)
    assert response.status_code == status, response.text[:300]


def test_a_polygon_with_a_million_vertices_is_refused_quickly(
    api: tuple[TestClient, dict[str, str], str],
) -> None:
    client, auth, _ = api
    ring = [[30 + i * 1e-6, 50 + (i % 2) * 1e-6] for i in range(1_000_000)]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
               "properties": {k: v for k, v in EVENT.items() if k != "citations"}}  # fmt: skip
    response = client.post("/events", json=feature, headers=auth)
    assert response.status_code == 413  # far over the body limit: never parsed
