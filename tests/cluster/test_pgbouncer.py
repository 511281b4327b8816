"""Behind a real PgBouncer (Debian's 1.18) in transaction mode, with FRONTLINE_TRANSACTION_POOLING,
every kind of read and write answers exactly what a direct connection answers, with many
clients sharing two server connections; without the setting the refusal is explained."""

import asyncio
import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from app.store import devdb
from tests.api.test_tiles import decode
from tests.api.test_writes import _prepare
from tests.conftest import live_server
from tests.rig import pgbouncer, via

STAMP = re.compile(rb'"timeStamp":"[^"]*",')  # when the page was made
POOLING = {"FRONTLINE_TRANSACTION_POOLING": "true"}

# One of every kind of read: pages (driver path), items, history, gazetteer search (its
# similarity threshold is a session setting), tiles, statistics, exports (a server cursor).
READS = [
    "/events?limit=5",
    "/events?bbox=34,50,37,52&datetime=2024-08-01T00:00:00Z/..&limit=50",
    "/events?q=Sudzha",
    "/events/1",
    "/events/1/history",
    "/collections/events/items?limit=3&f=json",
    "/places/search?q=Sudja",
    "/places?q=Belgorod",
    "/stats/timeline?interval=month",
    "/stats/regions?kind=region",
    "/events/export?f=csv",
    "/tiles/events/6/38/21.mvt",
    "/sources",
]


def _get(base: str, path: str) -> tuple[int, bytes]:
    """Status and body, the server's own address in links written as BASE."""
    try:
        with urllib.request.urlopen(base + path) as answer:  # noqa: S310 (loopback)
            status, body = int(answer.status), answer.read()
    except urllib.error.HTTPError as error:
        status, body = int(error.code), error.read()
    return status, STAMP.sub(b"", body.replace(base.encode(), b"BASE"))


def _content(path: str, answer: tuple[int, bytes]) -> object:
    """What an answer says: a tile's features in id order (PostGIS may write them in any)."""
    status, body = answer
    if not path.endswith(".mvt"):
        return answer
    layers = decode(body)
    return status, {name: sorted(map(repr, layer["features"])) for name, layer in layers.items()}


def _post(base: str, key: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    data = json.dumps(body).encode()
    request = urllib.request.Request(base + path, data, headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310
            return int(answer.status), json.load(answer)
    except urllib.error.HTTPError as error:
        return int(error.code), json.load(error)


@pytest.fixture(scope="module")
def database(cluster: devdb.Cluster) -> Iterator[tuple[str, dict[str, str]]]:
    name = "pooled"
    devdb.create_database(cluster, name, template="frontline_template")
    url = cluster.url(name)
    try:
        yield url, asyncio.run(_prepare(url))
    finally:
        devdb.drop_database(cluster, name)


def test_every_read_matches_a_direct_connection_under_concurrency(
    cluster: devdb.Cluster, database: tuple[str, dict[str, str]]
) -> None:
    url, _ = database
    with live_server(url) as direct:
        expected = {path: _get(direct, path) for path in READS}
    refused = {path: body[:300] for path, (status, body) in expected.items() if status != 200}
    assert refused == {}
    with (
        pgbouncer(cluster) as port,
        live_server(via(url, port), settings=POOLING) as pooled,
        ThreadPoolExecutor(16) as workers,  # 16 clients, 2 server connections
    ):
        answers = list(workers.map(lambda path: (path, _get(pooled, path)), READS * 8))
    for path, answer in answers:
        assert _content(path, answer) == _content(path, expected[path]), path


def test_writes_and_imports_through_the_pooler(
    cluster: devdb.Cluster, database: tuple[str, dict[str, str]]
) -> None:
    url, keys = database
    event = {"title": "Pooled shelling", "event_type": "shelling", "place": "sudzha",
             "occurred_at": "2025-03-10T00:00:00Z", "time_precision": "day"}  # fmt: skip
    with pgbouncer(cluster) as port, live_server(via(url, port), settings=POOLING) as pooled:
        with ThreadPoolExecutor(8) as workers:
            created = list(workers.map(
                lambda n: _post(pooled, keys["writer"], "/events",
                                {**event, "dataset": "pooled", "external_id": f"p{n}"}),
                range(24),
            ))  # fmt: skip
        assert [status for status, _ in created] == [201] * 24
        status, body = _get(pooled, "/events?dataset=pooled&limit=100")
    ids = sorted(feature["id"] for feature in json.loads(body)["features"])
    assert status == 200
    assert ids == sorted(feature["id"] for _, feature in created)


def test_session_mode_works_with_the_setting_too(
    cluster: devdb.Cluster, database: tuple[str, dict[str, str]]
) -> None:
    url, _ = database
    with live_server(url) as direct:
        expected = _get(direct, "/places/search?q=Sudja")
    with (
        pgbouncer(cluster, pool_mode="session") as port,
        live_server(via(url, port), settings=POOLING) as pooled,
    ):
        assert _get(pooled, "/places/search?q=Sudja") == expected


def test_without_the_setting_ready_says_what_to_set(
    cluster: devdb.Cluster, database: tuple[str, dict[str, str]]
) -> None:
    url, _ = database
    with pgbouncer(cluster) as port, live_server(via(url, port)) as pooled:
        status, body = _get(pooled, "/ready")
    assert status == 503
    assert "FRONTLINE_TRANSACTION_POOLING" in json.loads(body)["detail"]
