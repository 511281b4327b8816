"""Writes with provenance: keys and scopes, ETags, validation, soft delete, history, as_of."""

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.domain.vocab import Scope
from app.ingest.seed import seed
from app.main import create_app
from app.services.keys import create_key, revoke_key
from app.store.engine import make_engine
from tests.conftest import client_for, dump_tables, settings_for

TABLES = ("events", "event_sources", "event_revisions", "sources")


@dataclass
class Api:
    client: TestClient
    url: str
    keys: dict[str, str]

    def auth(self, key: str = "writer", **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[key]}", **headers}

    def create(self, body: dict[str, Any], key: str = "writer") -> Any:
        return self.client.post("/events", json=body, headers=self.auth(key))


async def _prepare(url: str) -> dict[str, str]:
    settings = settings_for(url)
    engine = make_engine(url, settings)
    try:
        await seed(engine)
        keys = {
            name: await create_key(engine, settings, name, scope)
            for name, scope in (
                ("reader", Scope.READ),
                ("writer", Scope.WRITE),
                ("admin", Scope.ADMIN),
                ("revoked", Scope.WRITE),
            )
        }
        await revoke_key(engine, "revoked")
        return keys
    finally:
        await engine.dispose()


@pytest.fixture
def api(fresh_url: str) -> Iterator[Api]:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url) as client:
        yield Api(client, fresh_url, keys)


EVENT = {
    "title": "Shelling reported in Sudzha",
    "event_type": "shelling",
    "occurred_at": "2025-03-10T00:00:00Z",
    "place": "Суджа",
    "citations": [{"source": "isw", "stance": "reports", "url": "https://example.org/a"}],
}


def test_create_from_plain_json(api: Api) -> None:
    response = api.create(EVENT)
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    location = response.headers["location"]
    feature = api.client.get(location).json()
    assert feature["geometry"]["coordinates"] == [35.2726, 51.1976]  # Sudzha's point
    props = feature["properties"]
    assert props["place_slug"] == "sudzha" and props["verification"] == "unverified"
    assert props["citations"][0]["source"] == "isw"


def test_create_from_a_geojson_feature(api: Api) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [35.52, 50.85]},
        "properties": {
            "title": "Drone strike near Demidovka",
            "event_type": "drone_strike",
            "occurred_at": "2025-03-21T08:00:00+03:00",
            "location_precision": "near",
        },
    }
    response = api.create(feature)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["geometry"]["coordinates"] == [35.52, 50.85]
    assert body["properties"]["occurred_at"] == "2025-03-21T05:00:00+00:00"
    assert body["properties"]["place_id"] is None


def test_retry_with_the_same_external_id_is_a_conflict(api: Api) -> None:
    body = {**EVENT, "dataset": "analyst-desk", "external_id": "A-1"}
    assert api.create(body).status_code == 201
    again = api.create(body)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/conflict"


def write_routes() -> list[tuple[str, str]]:
    """Every write route the app has: a new one cannot slip past the scope check."""
    app = create_app(settings_for("postgresql+asyncpg://x:y@127.0.0.1:9/none"))
    routes = []
    for path, operations in app.openapi()["paths"].items():
        for method in set(operations) - {"get", "head"}:
            concrete = path.replace("{event_id}", "1").replace("{feature_id}", "1")
            routes.append((method.upper(), concrete))
    return sorted(routes)


@pytest.mark.parametrize(
    ("key", "status", "detail"),
    [
        (None, 401, "This needs an API key with the write scope."),
        ("bogus", 401, "The API key is not valid."),
        ("revoked", 401, "The API key has been revoked."),
        ("reader", 403, "The key 'reader' lacks the write scope."),
    ],
)
def test_every_write_route_checks_the_key(
    api: Api, key: str | None, status: int, detail: str
) -> None:
    before = dump_tables(api.url, TABLES)
    routes = write_routes()
    assert len(routes) >= 11
    api.keys["bogus"] = "fl_not-a-real-key"
    for method, path in routes:
        headers = api.auth(key, **{"If-Match": '"1"'}) if key else {"If-Match": '"1"'}
        response = api.client.request(method, path, json=EVENT, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == detail
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert dump_tables(api.url, TABLES) == before


def test_admin_scope_includes_write(api: Api) -> None:
    assert api.create(EVENT, key="admin").status_code == 201


def test_lost_update_is_prevented(api: Api) -> None:
    created = api.create(EVENT)
    location, etag = created.headers["location"], created.headers["etag"]
    first = api.client.put(
        location,
        json={**EVENT, "citations": None, "fatalities": 2},
        headers=api.auth(**{"If-Match": etag}),
    )
    assert first.status_code == 422  # citations are managed through /sources, not PUT
    body = {k: v for k, v in EVENT.items() if k != "citations"}
    alice = api.client.put(
        location, json={**body, "fatalities": 2}, headers=api.auth(**{"If-Match": etag})
    )
    assert alice.status_code == 200 and alice.headers["etag"] == '"2"'
    before = dump_tables(api.url, TABLES)
    bob = api.client.patch(
        location,
        content=json.dumps({"fatalities": 5}),
        headers=api.auth(**{"If-Match": etag, "Content-Type": "application/merge-patch+json"}),
    )
    assert bob.status_code == 412
    assert (
        bob.json()["detail"].startswith("Event ")
        and "is at version 2, not 1" in bob.json()["detail"]
    )
    assert dump_tables(api.url, TABLES) == before
    assert api.client.get(location).json()["properties"]["fatalities"] == 2


def test_weak_tags_never_match_and_star_matches_any_version(api: Api) -> None:
    location = api.create(EVENT).headers["location"]
    weak = api.client.delete(location, headers=api.auth(**{"If-Match": 'W/"1"'}))
    assert weak.status_code == 412
    assert api.client.delete(location, headers=api.auth(**{"If-Match": "*"})).status_code == 204


@pytest.mark.parametrize("tag", ["1", "", '"1', "W/1"])
def test_if_match_that_is_no_entity_tag_is_a_400(api: Api, tag: str) -> None:
    location = api.create(EVENT).headers["location"]
    before = dump_tables(api.url, TABLES)
    response = api.client.patch(location, json={"fatalities": 1},
                                headers=api.auth(**{"If-Match": tag}))  # fmt: skip
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0] == {
        "parameter": "If-Match", "in": "header",
        "message": f'{tag!r} is not * or an entity tag in quotes, such as "3"',
    }  # fmt: skip
    assert dump_tables(api.url, TABLES) == before


def test_a_bad_body_or_a_missing_event_comes_before_a_tag_that_names_no_version(api: Api) -> None:
    location = api.create(EVENT).headers["location"]
    foreign = api.auth(**{"If-Match": 'W/"1"'})
    assert api.client.put(location, json={"title": ""}, headers=foreign).status_code == 422
    assert api.client.delete("/events/999999", headers=foreign).status_code == 404
    stale = api.client.patch(location, json={"fatalities": 1}, headers=foreign)
    assert stale.status_code == 412
    assert "If-Match names no version of event" in stale.json()["detail"]


def test_a_patch_names_editable_fields_only_even_as_null(api: Api) -> None:
    location = api.create(EVENT).headers["location"]
    response = api.client.patch(location, json={"type": None}, headers=api.auth())
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "type"


def test_merge_patch_changes_only_what_it_names(api: Api) -> None:
    created = api.create({**EVENT, "fatalities": 3, "tags": ["a"]})
    patch = {"verification": "disputed", "fatalities": None, "place": "Demydivka"}
    response = api.client.patch(
        created.headers["location"],
        content=json.dumps(patch),
        headers=api.auth(**{"If-Match": '"1"', "Content-Type": "application/merge-patch+json"}),
    )
    assert response.status_code == 200, response.text
    props = response.json()["properties"]
    assert props["verification"] == "disputed" and props["fatalities"] is None
    assert props["tags"] == ["a"] and props["title"] == EVENT["title"]
    assert props["place_slug"] == "demidovka"
    # The point followed the place, since it was the old place's point.
    assert response.json()["geometry"]["coordinates"] == [35.5199, 50.8537]


BAD_BODIES = [
    (
        {"geometry": {"type": "Point", "coordinates": [float("nan"), 50]}},
        "geometry.coordinates.0",
        "Input should be a finite number",
    ),
    (
        {"geometry": {"type": "Point", "coordinates": [30, float("inf")]}},
        "geometry.coordinates.1",
        "Input should be a finite number",
    ),
    (
        {"geometry": {"type": "Point", "coordinates": [200, 50]}},
        "geometry.coordinates",
        "Value error, longitude 200 is outside [-180, 180]",
    ),
    (
        {"geometry": {"type": "Point", "coordinates": [30, -91]}},
        "geometry.coordinates",
        "Value error, latitude -91 is outside [-90, 90]",
    ),
    (
        {"geometry": {"type": "Point", "coordinates": []}},
        "geometry.coordinates",
        "List should have at least 2 items after validation, not 0",
    ),
    (
        {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 1], [0, 0]]]}},
        "geometry.type",
        "Input should be 'Point'",
    ),
    (
        {"occurred_until": "2025-03-01T00:00:00Z"},
        "body",
        "Value error, occurred_until must not be before occurred_at",
    ),
    ({"occurred_at": "2025-03-10T00:00:00"}, "occurred_at", "Input should have timezone info"),
    ({"event_type": "skirmish"}, "event_type", None),
    ({"verification": "probably"}, "verification", None),
    ({"fatalities": -1}, "fatalities", "Input should be greater than or equal to 0"),
    ({"title": ""}, "title", "String should have at least 1 character"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
    ({"place": "Atlantis"}, "place", "no place is called 'Atlantis'"),
    (
        {"citations": [{"source": "nobody", "stance": "claims"}]},
        "citations.0.source",
        "no source 'nobody'; create it with POST /sources",
    ),
    ({"citations": [{"source": "isw", "stance": "shrugs"}]}, "citations.0.stance", None),
    # Found by the contract run (tests/api/test_fuzz.py); each was a 500 or a silent reading.
    ({"external_id": "x" * 201}, "external_id", "String should have at most 200 characters"),
    ({"dataset": "d" * 65}, "dataset", "String should have at most 64 characters"),
    ({"occurred_at": "0001-01-01T00:00:00Z"}, "occurred_at", "Value error, must lie strictly"),
    ({"occurred_at": "0001-01-01T00:00:00+01:00"}, "occurred_at", "Value error, must lie in"),
    ({"occurred_at": 1741564800}, "occurred_at", "Value error, must be an RFC 3339"),
    ({"fatalities": True}, "fatalities", "Value error, must be a number, not true or false"),
    ({"title": "   "}, "title", "String should have at least 1 character"),
    ({"geometry": {"type": "Point", "coordinates": [30, False]}}, "geometry.coordinates.1", None),
    (
        {"citations": [{"source": "isw", "stance": "claims", "url": "https://a.org/\x00"}]},
        "citations.0.url",
        "String should match pattern",
    ),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_BODIES)
def test_invalid_bodies_name_the_field_and_write_nothing(
    api: Api, change: dict[str, Any], field: str, message: str | None
) -> None:
    before = dump_tables(api.url, TABLES)
    body = json.dumps({**EVENT, **change}, allow_nan=True)
    response = api.client.post(
        "/events", content=body, headers=api.auth(**{"Content-Type": "application/json"})
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    error = response.json()["errors"][0]
    assert error["field"] == field and error["in"] == "body"
    if message is not None:
        assert error["message"].startswith(message)
    assert dump_tables(api.url, TABLES) == before


def test_body_limits_and_media_type(api: Api) -> None:
    before = dump_tables(api.url, TABLES)
    huge = json.dumps({**EVENT, "description": "x" * 2_000_000})
    too_big = api.client.post(
        "/events", content=huge, headers=api.auth(**{"Content-Type": "application/json"})
    )
    assert too_big.status_code == 413
    assert too_big.json()["detail"] == "The body is larger than 1048576 bytes."
    form = api.client.post(
        "/events", content="title=x", headers=api.auth(**{"Content-Type": "text/plain"})
    )
    assert form.status_code == 415
    broken = api.client.post(
        "/events", content="{not json", headers=api.auth(**{"Content-Type": "application/json"})
    )
    assert broken.status_code == 422
    assert dump_tables(api.url, TABLES) == before


def test_soft_delete_and_restore(api: Api) -> None:
    location = api.create(EVENT).headers["location"]
    event_id = int(location.rsplit("/", 1)[1])
    deleted = api.client.delete(location, headers=api.auth(**{"If-Match": '"1"'}))
    assert deleted.status_code == 204 and deleted.headers["etag"] == '"2"'
    assert api.client.get(location).status_code == 404
    ids = {f["id"] for f in api.client.get("/events?limit=10000").json()["features"]}
    assert event_id not in ids
    feed = api.client.get(
        "/events",
        params={
            "updated_since": "2000-01-01T00:00:00Z",
            "include_deleted": "true",
            "limit": "10000",
        },
    ).json()
    tombstone = next(f for f in feed["features"] if f["id"] == event_id)
    assert tombstone["properties"]["merged_into"] is None
    assert set(tombstone["properties"]) == {"deleted_at", "merged_into", "version", "updated_at"}
    twice = api.client.delete(location, headers=api.auth(**{"If-Match": '"2"'}))
    assert twice.status_code == 409
    restored = api.client.post(
        f"/events/{event_id}/restore", headers=api.auth(**{"If-Match": '"2"'})
    )
    assert restored.status_code == 200 and restored.headers["etag"] == '"3"'
    assert api.client.get(location).status_code == 200


def test_citations_drive_verification_and_history(api: Api) -> None:
    created = api.create(
        {
            **EVENT,
            "citations": [
                {"source": "ru-mod", "stance": "claims", "url": "https://example.org/claim"}
            ],
        }
    )
    location = created.headers["location"]
    assert created.json()["properties"]["verification"] == "claimed"
    cite = api.client.post(
        f"{location}/sources",
        headers=api.auth(**{"If-Match": '"1"'}),
        json={
            "source": "ua-general-staff",
            "stance": "denies",
            "url": "https://example.org/denial",
        },
    )
    assert cite.status_code == 200, cite.text
    assert cite.json()["properties"]["verification"] == "disputed"
    assert len(cite.json()["properties"]["citations"]) == 2
    history = api.client.get(f"{location}/history").json()
    assert [r["operation"] for r in history["revisions"]] == ["create", "update"]
    assert history["revisions"][0]["changed_by"] == "writer"
    change = history["revisions"][1]["changes"]
    assert change["verification"] == {"from": "claimed", "to": "disputed"}
    assert len(change["citations"]["to"]) == 2


def test_sources_list_and_create(api: Api) -> None:
    body = {
        "slug": "kyiv-independent",
        "name": "The Kyiv Independent",
        "kind": "media",
        "country_code": "UA",
        "url": "https://kyivindependent.com/",
    }
    assert api.client.post("/sources", json=body, headers=api.auth()).status_code == 201
    assert api.client.post("/sources", json=body, headers=api.auth()).status_code == 409
    listed = {s["slug"]: s for s in api.client.get("/sources").json()["sources"]}
    assert listed["kyiv-independent"]["citations"] == 0
    assert listed["ru-mod"]["citations"] >= 5


def test_ogc_part4_routes_write_too(api: Api) -> None:
    created = api.client.post("/collections/events/items", json=EVENT, headers=api.auth())
    assert created.status_code == 201
    event_id = created.json()["id"]
    path = f"/collections/events/items/{event_id}"
    deleted = api.client.delete(path, headers=api.auth(**{"If-Match": '"1"'}))
    assert deleted.status_code == 204
    assert api.client.get(path).status_code == 404


def test_writes_are_rate_limited_per_key_and_per_address(fresh_url: str) -> None:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url, writes_per_minute_per_key=2) as client:
        auth = {"Authorization": f"Bearer {keys['writer']}"}
        assert [client.post("/events", json=EVENT, headers=auth).status_code for _ in range(3)] == [
            201,
            201,
            429,
        ]
        refused = client.post("/events", json=EVENT, headers=auth)
        assert refused.headers["retry-after"] == "30"
        assert refused.json()["title"] == "Too many requests"
        other = {"Authorization": f"Bearer {keys['admin']}"}
        assert client.post("/events", json=EVENT, headers=other).status_code == 201
    with client_for(fresh_url, writes_per_minute_per_ip=3) as client:
        guesses = [
            client.post(
                "/events", json=EVENT, headers={"Authorization": f"Bearer fl_guess{i}"}
            ).status_code
            for i in range(5)
        ]
        assert guesses == [401, 401, 401, 429, 429]
        assert client.get("/events").status_code == 200  # reads are not limited


def test_reads_can_require_a_read_key(fresh_url: str) -> None:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url, require_read_key=True) as client:
        for path in (
            "/events",
            "/places/sudzha",
            "/collections",
            "/stats/timeline",
            "/tiles/events/5/19/10.mvt",
            "/sources",
        ):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.json()["detail"] == "This needs an API key with the read scope."
            allowed = client.get(path, headers={"Authorization": f"Bearer {keys['reader']}"})
            assert allowed.status_code in (200, 204), path
        assert client.get("/health").status_code == 200
    with client_for(fresh_url) as client:
        assert client.get("/events").status_code == 200  # public by default
