"""The change feed that never skips (`changes_after`): a poll returns every change below the
token in its Frontline-Changes-Before header, the next poll starts there, and a long
transaction that commits after a later one is returned by a later poll — where polling
`updated_since` from the newest stamp seen loses it."""

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from app.store.engine import asyncpg_url
from tests.api.test_writes import _prepare
from tests.conftest import client_for

BEFORE = "Frontline-Changes-Before"


def poll(client: TestClient, after: int, **params: Any) -> tuple[list[int], int]:
    """Every page of one poll: the ids changed (in page order) and the next poll's token."""
    answer = client.get("/events", params={"changes_after": after, "limit": 2, **params})
    assert answer.status_code == 200, answer.text
    horizon = int(answer.headers[BEFORE])
    ids: list[int] = []
    while True:
        body = answer.json()
        ids += [f["id"] for f in body["features"]]
        assert int(answer.headers[BEFORE]) == horizon  # every page of a poll keeps its bound
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return ids, horizon
        assert f"changes_before={horizon}" in nxt[0]
        answer = client.get(nxt[0])


@pytest.fixture
def api(fresh_url: str) -> Iterator[tuple[TestClient, str, dict[str, str]]]:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url) as client:
        yield client, fresh_url, {"Authorization": f"Bearer {keys['writer']}"}


def _patch(client: TestClient, auth: dict[str, str], event_id: int, title: str) -> None:
    headers = {**auth, "Content-Type": "application/merge-patch+json"}
    answer = client.patch(f"/events/{event_id}", json={"title": title}, headers=headers)
    assert answer.status_code == 200, answer.text


def test_a_poll_returns_every_change_once_then_only_new_ones(
    api: tuple[TestClient, str, dict[str, str]],
) -> None:
    client, _, auth = api
    every = sorted(f["id"] for f in client.get("/events?limit=10000").json()["features"])
    first, token = poll(client, 0)
    assert sorted(first) == every and len(first) == len(set(first))
    assert poll(client, token) == ([], token)  # nothing changed since
    _patch(client, auth, every[0], "Shelling reported in Sudzha, again")
    assert client.delete(f"/events/{every[1]}", headers=auth).status_code == 204
    changed, token = poll(client, token, include_deleted="true")
    assert sorted(changed) == sorted(every[:2])
    assert poll(client, token, include_deleted="true") == ([], token)


SLOW_EDIT = "UPDATE events SET title = title || ' (slow)', updated_at = now() WHERE id = $1"


def _stamp(client: TestClient, event_id: int) -> datetime:
    updated = client.get(f"/events/{event_id}").json()["properties"]["updated_at"]
    return datetime.fromisoformat(updated)


def test_a_long_transaction_is_not_skipped(api: tuple[TestClient, str, dict[str, str]]) -> None:
    client, url, auth = api
    slow_id, fast_id = sorted(f["id"] for f in client.get("/events?limit=2").json()["features"])
    _, token = poll(client, 0)

    async def race() -> tuple[list[int], list[int]]:
        slow = await asyncpg.connect(asyncpg_url(url).replace("+asyncpg", ""))
        try:
            transaction = slow.transaction()
            await transaction.start()  # starts first, so its change is stamped first
            await slow.execute(SLOW_EDIT, slow_id)
            await asyncio.to_thread(_patch, client, auth, fast_id, "Fast edit")  # commits first
            during, _ = await asyncio.to_thread(poll, client, token)
            await transaction.commit()
        finally:
            await slow.close()
        after, _ = await asyncio.to_thread(poll, client, token)
        return during, after

    during, after = asyncio.run(race())
    assert during == []  # the fast change waits for the slow transaction below it
    assert sorted(after) == sorted([slow_id, fast_id])
    # Why stamps cannot do this: the slow change is stamped before the fast one, which a
    # poller had already seen, so `updated_since=<the fast stamp>` never returns it.
    assert _stamp(client, slow_id) < _stamp(client, fast_id)


def test_bad_feed_parameters_are_400s(api: tuple[TestClient, str, dict[str, str]]) -> None:
    client, _, _ = api
    for query, parameter in (
        ("changes_after=-1", "changes_after"),
        ("changes_after=abc", "changes_after"),
        ("changes_before=0", "changes_before"),
    ):
        answer = client.get(f"/events?{query}")
        assert answer.status_code == 400, query
        assert answer.headers["content-type"] == "application/problem+json"
        assert parameter in answer.text, (query, answer.text)
