"""events.feature (migration 0009) stays equal to the Feature built from the event's columns
after every kind of write, and pages serve it."""

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from app.store.queries.common import feature_json, json_object
from app.store.queries.event_filters import events, places
from app.store.queries.events import event_properties
from tests.api.test_imports import ACLED, acled_csv, run_import, write
from tests.api.test_writes import EVENT, Api, api  # noqa: F401  (the fixture)
from tests.conftest import execute

MERGE_PATCH = "application/merge-patch+json"


def stale_sql() -> str:
    """Events whose stored text differs from the one app.store.queries builds from the row."""
    built = feature_json(json_object(event_properties()), events.c.geom, events.c.id)
    stmt = (
        select(events.c.id)
        .select_from(events.outerjoin(places, places.c.id == events.c.place_id))
        .where(events.c.feature.is_distinct_from(built))
    )
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    return str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def assert_features_current(url: str) -> int:
    """No stale Feature text; returns how many events there are."""
    assert execute(url, stale_sql()) == []
    [(count,)] = execute(url, "SELECT count(*) FROM events")
    return int(count)


def test_stored_features_follow_every_write(api: Api, tmp_path: Path) -> None:  # noqa: F811
    created = api.create({**EVENT, "description": 'Quotes "and" \\ backslashes, ünïcode'})
    location = created.headers["location"]
    event_id = int(created.json()["id"])
    assert assert_features_current(api.url) > 0
    patched = api.client.patch(
        location,
        content=json.dumps({"fatalities": 4, "place": "Demydivka", "tags": ["x"]}),
        headers=api.auth(**{"If-Match": '"1"', "Content-Type": MERGE_PATCH}),
    )
    assert patched.status_code == 200, patched.text
    added = api.client.post(
        f"{location}/sources",
        headers=api.auth(**{"If-Match": '"2"'}),
        json={"source": "ru-mod", "stance": "denies", "url": "https://c.example"},
    )
    assert added.status_code == 200, added.text
    assert_features_current(api.url)

    execute(api.url, "UPDATE event_sources SET stance = 'disputes' WHERE source_id = "
            "(SELECT id FROM sources WHERE slug = 'ru-mod')")  # fmt: skip
    execute(api.url, "UPDATE places SET name = 'Demydivka (renamed)' WHERE slug = 'demidovka'")
    execute(api.url, "UPDATE sources SET slug = 'isw-renamed' WHERE slug = 'isw'")
    assert_features_current(api.url)
    page = api.client.get("/events", params={"limit": 1000}).json()
    [props] = [f["properties"] for f in page["features"] if f["id"] == event_id]
    assert props["place_name"] == "Demydivka (renamed)"
    assert props["citations"] == [
        {"source": "isw-renamed", "stance": "reports"},
        {"source": "ru-mod", "stance": "disputes"},
    ]

    deleted = api.client.delete(location, headers=api.auth(**{"If-Match": '"3"'}))
    assert deleted.status_code == 204
    assert run_import(api.url, write(tmp_path, "a.csv", acled_csv(ACLED))).inserted == len(ACLED)
    changed = [[*ACLED[1][:12], "Kommersant; Meduza", *ACLED[1][13:]]]
    run_import(api.url, write(tmp_path, "b.csv", acled_csv(ACLED[:1] + changed + ACLED[2:])))
    assert assert_features_current(api.url) > len(ACLED)
    execute(api.url, "DELETE FROM event_sources WHERE id = (SELECT min(id) FROM event_sources)")
    execute(api.url, "TRUNCATE event_sources")
    assert_features_current(api.url)


def test_pages_serve_the_stored_text(api: Api) -> None:  # noqa: F811
    """A page with every property reads the stored text; a property list builds it, and as_of
    reads the text its version stored when it was written."""
    created = api.create(EVENT).json()
    when = created["properties"]["updated_at"]
    execute(api.url, "ALTER TABLE events DISABLE TRIGGER events_feature")
    marked = json.dumps({**created, "properties": {**created["properties"], "title": "stored"}})
    execute(api.url, f"UPDATE events SET feature = '{marked}' WHERE id = {created['id']}")

    def title(**params: str) -> str:
        page = api.client.get("/events", params={"limit": 1000, **params}).json()
        [feature] = [f for f in page["features"] if f["id"] == created["id"]]
        return str(feature["properties"]["title"])

    assert title() == "stored"
    assert title(properties="title") == EVENT["title"]
    assert title(as_of=when) == EVENT["title"]


def test_an_event_cannot_be_stored_without_its_text(api: Api) -> None:  # noqa: F811
    """With the trigger off, a write leaving no text fails (migration 0010) rather than a
    page silently losing the Feature."""
    created = api.create(EVENT).json()
    execute(api.url, "ALTER TABLE events DISABLE TRIGGER events_feature")
    with pytest.raises(IntegrityError, match="feature"):
        execute(api.url, f"UPDATE events SET feature = NULL WHERE id = {created['id']}")


# Migration 0011: each revision's columns, text and validity, whoever wrote it.
OPEN_VERSIONS = """
SELECT event_id FROM event_revisions GROUP BY event_id
HAVING count(*) FILTER (WHERE superseded_at IS NULL) <> 1
"""
OVERLAPS = """
SELECT a.id, b.id FROM event_revisions a JOIN event_revisions b
ON a.event_id = b.event_id AND a.id < b.id AND a.valid && b.valid
"""
NOT_THE_EVENT = """
SELECT r.id FROM event_revisions r JOIN events e ON e.id = r.event_id
WHERE r.superseded_at IS NULL AND (r.version, r.feature, r.geom, r.during, r.deleted_at)
      IS DISTINCT FROM (e.version, e.feature, e.geom, e.during, e.deleted_at)
"""
NOT_ITS_SNAPSHOT = "SELECT r.id FROM event_revisions r WHERE r.feature <> revision_feature_text(r)"


def assert_revisions_true(url: str) -> int:
    """One open version per event, no two valid at once, the open one equal to the event, and
    every stored text the one its snapshot gives; returns how many revisions there are."""
    for check in (OPEN_VERSIONS, OVERLAPS, NOT_THE_EVENT, NOT_ITS_SNAPSHOT):
        assert execute(url, check) == [], check
    [(count,)] = execute(url, "SELECT count(*) FROM event_revisions")
    return int(count)


def test_revisions_keep_each_version_and_when_it_was_current(
    api: Api,  # noqa: F811
    tmp_path: Path,
) -> None:
    seeded = assert_revisions_true(api.url)
    created = api.create(EVENT)
    location, auth = created.headers["location"], api.auth
    edits = [
        api.client.patch(location, content=json.dumps({"fatalities": 2, "tags": ["y"]}),
                         headers=auth(**{"If-Match": '"1"', "Content-Type": MERGE_PATCH})),
        api.client.post(f"{location}/sources", headers=auth(**{"If-Match": '"2"'}),
                        json={"source": "ru-mod", "stance": "denies"}),
        api.client.delete(location, headers=auth(**{"If-Match": '"3"'})),
        api.client.post(f"{location}/restore", headers=auth(**{"If-Match": '"4"'})),
    ]  # fmt: skip
    assert [e.status_code for e in edits] == [200, 200, 204, 200]
    run_import(api.url, write(tmp_path, "a.csv", acled_csv(ACLED)))
    changed = [*ACLED[1][:14], "5"]  # more fatalities reported
    again = run_import(api.url, write(tmp_path, "b.csv", acled_csv([ACLED[0], changed])))
    assert again.updated == 1
    assert assert_revisions_true(api.url) == seeded + 5 + len(ACLED) + 1
    bounds = execute(api.url, "SELECT changed_at, superseded_at FROM event_revisions WHERE "
                     f"event_id = {created.json()['id']} ORDER BY version")  # fmt: skip
    assert [end for _, end in bounds[:-1]] == [start for start, _ in bounds[1:]]
    assert bounds[-1][1] is None
