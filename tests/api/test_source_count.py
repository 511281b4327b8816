"""events.source_count (migration 0008) equals the event's citations after every kind of write:
create, added citations, delete and restore, bulk import and re-import, SQL moves, deletes
and truncation."""

from pathlib import Path

from tests.api.test_imports import ACLED, acled_csv, run_import, write
from tests.api.test_writes import EVENT, Api, api  # noqa: F401  (the fixture)
from tests.conftest import execute

MISCOUNTED = """
SELECT count(*) FILTER (WHERE e.source_count <> (SELECT count(*) FROM event_sources s
                                                  WHERE s.event_id = e.id)),
       coalesce(sum(e.source_count), 0)
FROM events e
"""


MOVE = (
    "UPDATE event_sources SET event_id = {} "
    "WHERE event_id = (SELECT min(event_id) FROM event_sources)"
)


def assert_counts_exact(url: str) -> int:
    """No event miscounted; returns the number of citations."""
    [(miscounted, total)] = execute(url, MISCOUNTED)
    assert miscounted == 0
    return int(total)


def cite(*urls: str) -> list[dict[str, str]]:
    return [{"source": "isw", "stance": "reports", "url": u} for u in urls]


def test_citation_counts_follow_every_write(api: Api, tmp_path: Path) -> None:  # noqa: F811
    created = api.create({**EVENT, "citations": cite("https://a.example", "https://b.example")})
    location = created.headers["location"]
    bare = api.create({k: v for k, v in EVENT.items() if k != "citations"})
    assert bare.json()["properties"]["source_count"] == 0
    assert created.json()["properties"]["source_count"] == 2
    seeded = assert_counts_exact(api.url)
    added = api.client.post(
        f"{location}/sources",
        headers=api.auth(**{"If-Match": '"1"'}),
        json={"source": "ru-mod", "stance": "denies", "url": "https://c.example"},
    )
    assert added.status_code == 200, added.text
    assert added.json()["properties"]["source_count"] == 3
    assert assert_counts_exact(api.url) == seeded + 1
    deleted = api.client.delete(location, headers=api.auth(**{"If-Match": '"2"'}))
    assert deleted.status_code == 204
    assert assert_counts_exact(api.url) == seeded + 1  # a soft delete keeps the citations

    csv = acled_csv(ACLED)
    assert run_import(api.url, write(tmp_path, "acled.csv", csv)).inserted == len(ACLED)
    imported = assert_counts_exact(api.url)
    assert imported > seeded
    changed = [[*ACLED[1][:12], "Kommersant; Meduza; Novaya Gazeta", *ACLED[1][13:]]]
    run_import(api.url, write(tmp_path, "again.csv", acled_csv(ACLED[:1] + changed + ACLED[2:])))
    reimported = assert_counts_exact(api.url)

    execute(api.url, MOVE.format(int(bare.json()["id"])))  # one event's citations go to `bare`
    assert assert_counts_exact(api.url) == reimported
    execute(api.url, "DELETE FROM events WHERE id = (SELECT max(event_id) FROM event_sources)")
    assert 0 < assert_counts_exact(api.url) < reimported
    execute(api.url, "TRUNCATE event_sources")
    assert assert_counts_exact(api.url) == 0
