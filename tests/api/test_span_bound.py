"""The longest-span bound (migration 0007): time filters stay exact however long events get.

`/events?datetime=` only reads starts at or after the interval's start minus the longest span
stored; these tests lengthen events by every kind of write and check that the long ones are
still found, now and `as_of` before they were shortened."""

import json
from datetime import timedelta
from typing import Any

from tests.api.test_writes import EVENT, Api, api  # noqa: F401  (the fixture)
from tests.conftest import execute


def longest(url: str) -> timedelta:
    rows = execute(url, "SELECT longest FROM event_span_bound")
    assert rows is not None and len(rows) == 1
    return rows[0][0]  # type: ignore[no-any-return]


def ids(service: Api, **params: str) -> set[int]:
    response = service.client.get("/events", params={"limit": "1000", **params})
    assert response.status_code == 200, response.text
    return {f["id"] for f in response.json()["features"]}


def patch(service: Api, location: str, version: int, body: dict[str, Any]) -> Any:
    headers = {"If-Match": f'"{version}"', "Content-Type": "application/merge-patch+json"}
    auth = service.auth(**headers)
    response = service.client.patch(location, content=json.dumps(body), headers=auth)
    assert response.status_code == 200, response.text
    return response


def test_a_long_event_is_found_in_the_middle_of_its_span(api: Api) -> None:  # noqa: F811
    seeded = longest(api.url)
    year = {**EVENT, "occurred_at": "2023-01-01T00:00:00Z"}
    year["occurred_until"] = "2024-01-01T00:00:00Z"
    created = api.create(year)
    assert created.status_code == 201, created.text
    fid = created.json()["id"]
    assert longest(api.url) == timedelta(days=365) > seeded
    assert fid in ids(api, datetime="2023-12-30/2023-12-31")
    assert fid in ids(api, datetime="2023-12-31T23:59:59Z/..")
    assert fid not in ids(api, datetime="2024-01-01T00:00:00Z/..")  # the end is exclusive


def test_lengthening_by_patch_raises_the_bound_and_shortening_never_lowers_it(api: Api) -> None:  # noqa: F811
    created = api.create({**EVENT, "occurred_at": "2022-06-01T00:00:00Z"})
    location, fid = created.headers["location"], created.json()["id"]
    assert fid not in ids(api, datetime="2025-01-01/2025-01-02")
    patch(api, location, 1, {"occurred_until": "2025-06-01T00:00:00Z"})
    assert longest(api.url) == timedelta(days=1096)
    assert fid in ids(api, datetime="2025-01-01/2025-01-02")
    moment = api.client.get(location).json()["properties"]["updated_at"]
    patch(api, location, 2, {"occurred_until": "2022-06-02T00:00:00Z"})
    assert longest(api.url) == timedelta(days=1096)  # kept: as_of still reads the long one
    assert fid not in ids(api, datetime="2025-01-01/2025-01-02")
    assert fid in ids(api, datetime="2025-01-01/2025-01-02", as_of=moment)
