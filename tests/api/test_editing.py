"""OGC API – Features Part 4 as QGIS speaks it: OPTIONS and Allow, partial-Feature patches,
writes without If-Match (last writer wins, history keeps what was replaced).

The exchanges replayed here are those of QGIS's OAPIF provider (src/providers/wfs/oapif/ in
qgis/QGIS: qgsoapifprovider.cpp computeCapabilities sends OPTIONS on the items and on one item
and reads `Allow`; qgsoapifcreatefeaturerequest.cpp takes the new id from what follows the
last `/items/` of `Location`; qgsoapifpatchfeaturerequest.cpp sends
`{"properties": {...}}` or `{"geometry": ...}` as application/merge-patch+json; none of its
requests carries If-Match). Debian's QGIS 3.22 predates editing, so the protocol is tested.
"""

import asyncio
import json
from collections.abc import Iterator

import pytest

from tests.api.test_writes import EVENT, TABLES, Api, _prepare
from tests.conftest import client_for, dump_tables

ITEMS = "/collections/events/items"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
GEOJSON = {"Content-Type": "application/geo+json"}


def _api(url: str, **settings: object) -> Iterator[Api]:
    keys = asyncio.run(_prepare(url))
    with client_for(url, **settings) as client:
        yield Api(client, url, keys)


@pytest.fixture
def api(fresh_url: str) -> Iterator[Api]:
    yield from _api(fresh_url)


@pytest.fixture
def strict_api(fresh_url: str) -> Iterator[Api]:
    yield from _api(fresh_url, require_if_match=True)


def test_options_lists_what_qgis_needs_to_edit(api: Api) -> None:
    items = api.client.options(ITEMS)
    assert items.status_code == 204
    assert items.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    # QGIS asks about the first item it read, or `unknown_id` in an empty collection.
    for item in (f"{ITEMS}/1", f"{ITEMS}/unknown_id"):
        answer = api.client.options(item)
        assert answer.status_code == 204
        assert answer.headers["allow"] == "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"
    assert api.client.options("/nowhere").status_code == 404


def test_every_documented_path_answers_options_with_its_methods(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        concrete = path.replace("{collection_id}", "events").replace("{tms}", "WebMercatorQuad")
        for name in ("{event_id}", "{feature_id}", "{z}", "{x}", "{y}", "{place_id}", "{key}"):
            concrete = concrete.replace(name, "1")
        documented = {method.upper() for method in operations}
        answer = api.client.options(concrete)
        assert answer.status_code == 204, (path, answer.text)
        allowed = set(answer.headers["allow"].split(", "))
        expected = documented | {"OPTIONS"} | ({"HEAD"} if "GET" in documented else set())
        assert allowed == expected, path


def test_a_405_names_every_method_of_the_path(api: Api) -> None:
    wrong = api.client.delete(ITEMS, headers=api.auth())
    assert wrong.status_code == 405
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.headers["allow"] == "GET, HEAD, POST, OPTIONS"
    assert api.client.put("/conformance").headers["allow"] == "GET, HEAD, OPTIONS"


def _qgis_create(api: Api) -> str:
    """QGIS's POST: a compact Feature, keys sorted, no id; the id read back from Location."""
    feature = {
        "geometry": {"coordinates": [35.1, 51.2], "type": "Point"},
        "properties": {"event_type": "shelling", "occurred_at": "2025-03-10T00:00:00Z",
                       "title": "Shelling near Sudzha"},
        "type": "Feature",
    }  # fmt: skip
    body = json.dumps(feature, separators=(",", ":"), sort_keys=True)
    created = api.client.post(ITEMS, content=body, headers=api.auth(**GEOJSON))
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith("http://testserver/collections/events/items/")
    return location.rsplit("/items/", 1)[1]


def test_qgis_creates_patches_and_deletes_without_if_match(api: Api) -> None:
    feature_id = _qgis_create(api)
    item = f"{ITEMS}/{feature_id}"
    patched = api.client.patch(
        item, content='{"properties":{"fatalities":2}}', headers=api.auth(**MERGE_PATCH)
    )
    assert patched.status_code == 200, patched.text
    assert patched.headers["etag"] == '"2"'
    assert patched.json()["properties"]["fatalities"] == 2
    moved = api.client.patch(
        item,
        content='{"geometry":{"coordinates":[35.25,51.3],"type":"Point"}}',
        headers=api.auth(**MERGE_PATCH),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["geometry"]["coordinates"] == [35.25, 51.3]
    assert moved.json()["properties"]["fatalities"] == 2
    # A null removes the field, as RFC 7396 says (QGIS sends null for a cleared attribute).
    cleared = api.client.patch(
        item, content='{"properties":{"fatalities":null}}', headers=api.auth(**MERGE_PATCH)
    )
    assert cleared.json()["properties"]["fatalities"] is None
    deleted = api.client.delete(item, headers=api.auth())
    assert deleted.status_code == 204
    history = api.client.get(f"/events/{feature_id}/history", headers=api.auth()).json()
    revisions = history["revisions"]
    assert [r["operation"] for r in revisions] == ["create", "update", "update", "update", "delete"]
    # Last writer wins, and every replaced version stays: each change is there, from -> to.
    assert revisions[1]["changes"]["fatalities"] == {"from": None, "to": 2}
    assert revisions[2]["changes"]["geometry"]["from"]["coordinates"] == [35.1, 51.2]
    assert revisions[3]["changes"]["fatalities"] == {"from": 2, "to": None}


def test_a_feature_put_back_as_it_was_read_replaces_it(api: Api) -> None:
    """QGIS without PATCH (and any client that edits what it read) PUTs the whole Feature,
    served-only properties included; they are ignored and the place is kept."""
    location = api.create(EVENT).headers["location"]
    event_id = location.rsplit("/", 1)[1]
    feature = api.client.get(f"{ITEMS}/{event_id}").json()
    feature["properties"]["fatalities"] = 4
    replaced = api.client.put(
        f"{ITEMS}/{event_id}", content=json.dumps(feature), headers=api.auth(**GEOJSON)
    )
    assert replaced.status_code == 200, replaced.text
    now = replaced.json()["properties"]
    assert now["fatalities"] == 4 and now["version"] == 2
    assert now["place_slug"] == feature["properties"]["place_slug"]
    assert now["source_count"] == 1  # citations are not replaced by a PUT


def test_a_stale_if_match_is_still_refused_and_writes_nothing(api: Api) -> None:
    feature_id = _qgis_create(api)
    api.client.patch(f"{ITEMS}/{feature_id}", content='{"properties":{"fatalities":1}}',
                     headers=api.auth(**MERGE_PATCH))  # fmt: skip
    before = dump_tables(api.url, TABLES)
    stale = api.client.patch(
        f"{ITEMS}/{feature_id}",
        content='{"properties":{"fatalities":9}}',
        headers=api.auth(**MERGE_PATCH, **{"If-Match": '"1"'}),
    )
    assert stale.status_code == 412
    assert "is at version 2, not 1" in stale.json()["detail"]
    assert dump_tables(api.url, TABLES) == before


def test_a_partial_feature_with_bad_properties_is_refused(api: Api) -> None:
    feature_id = _qgis_create(api)
    before = dump_tables(api.url, TABLES)
    for body, field in (('{"properties":"x"}', "properties"),
                        ('{"properties":{"fatalities":-1}}', "fatalities"),
                        ('{"properties":{"colour":"red"}}', "colour")):  # fmt: skip
        refused = api.client.patch(
            f"{ITEMS}/{feature_id}", content=body, headers=api.auth(**MERGE_PATCH)
        )
        assert refused.status_code == 422, body
        assert field in refused.json()["detail"], refused.json()
    assert dump_tables(api.url, TABLES) == before


def test_deployments_can_require_if_match(strict_api: Api) -> None:
    api = strict_api
    location = api.create(EVENT).headers["location"]
    before = dump_tables(api.url, TABLES)
    missing = api.client.patch(
        location, content='{"properties":{"fatalities":2}}', headers=api.auth(**MERGE_PATCH)
    )
    assert missing.status_code == 428
    assert "If-Match" in missing.json()["detail"]
    assert api.client.delete(location, headers=api.auth()).status_code == 428
    assert dump_tables(api.url, TABLES) == before
    with_tag = api.client.delete(location, headers=api.auth(**{"If-Match": '"1"'}))
    assert with_tag.status_code == 204
