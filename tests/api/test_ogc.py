"""OGC API – Features: landing page, conformance, collections with real extents, queryables."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from app.web.params.events import EventFilterParams, EventQueryParams, event_filter, event_query
from app.web.routers import events, ogc, stats, tiles
from tests.conftest import client_for


@pytest.fixture(scope="module")
def client(seeded_url: str) -> Iterator[TestClient]:
    with client_for(seeded_url) as c:
        yield c


def rels(doc: dict[str, object]) -> set[str]:
    return {link["rel"] for link in doc["links"]}  # type: ignore[attr-defined, index]


def test_landing_page_links(client: TestClient) -> None:
    doc = client.get("/").json()
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels(doc)
    desc = next(link for link in doc["links"] if link["rel"] == "service-desc")
    assert client.get(desc["href"]).json()["openapi"].startswith("3.")


def test_conformance_declares_core_and_geojson(client: TestClient) -> None:
    classes = client.get("/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in classes


def test_collections_have_extents_from_the_data(client: TestClient) -> None:
    doc = client.get("/collections").json()
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(by_id) == {"events", "places"}
    events = client.get("/events", params={"limit": "10000"}).json()["features"]
    lons = [f["geometry"]["coordinates"][0] for f in events]
    lats = [f["geometry"]["coordinates"][1] for f in events]
    bbox = by_id["events"]["extent"]["spatial"]["bbox"][0]
    assert bbox == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
    starts = sorted(f["properties"]["occurred_at"] for f in events)
    interval = by_id["events"]["extent"]["temporal"]["interval"][0]
    assert interval[0].replace("Z", "+00:00") == starts[0]


def test_collections_say_what_their_data_owes_to_whom(client: TestClient) -> None:
    """The gazetteer's ODbL and CC BY sources, and the open event data's, as license links."""
    places = client.get("/collections/places").json()
    licences = {link["href"] for link in places["links"] if link["rel"] == "license"}
    assert licences == {"https://opendatacommons.org/licenses/odbl/1-0/",
                        "https://creativecommons.org/licenses/by/4.0/"}  # fmt: skip
    assert "© OpenStreetMap contributors" in places["attribution"]
    assert "UCDP GED (CC BY 4.0" in client.get("/collections/events").json()["attribution"]


def test_one_collection_and_unknown_collection(client: TestClient) -> None:
    assert client.get("/collections/events").json()["id"] == "events"
    response = client.get("/collections/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_items_match_the_rest_endpoint(client: TestClient) -> None:
    ogc = client.get("/collections/events/items", params={"limit": "5"}).json()
    rest = client.get("/events", params={"limit": "5"}).json()
    assert ogc["features"] == rest["features"]


def test_item_by_id(client: TestClient) -> None:
    first = client.get("/collections/events/items", params={"limit": "1"}).json()["features"][0]
    one = client.get(f"/collections/events/items/{first['id']}").json()
    assert one["id"] == first["id"] and one["type"] == "Feature"


def test_queryables_mark_the_primary_interval(client: TestClient) -> None:
    response = client.get("/collections/events/queryables")
    assert response.headers["content-type"] == "application/schema+json"
    doc = response.json()
    props = doc["properties"]
    assert props["occurred_at"]["x-ogc-role"] == "primary-interval-start"
    assert props["occurred_until"]["x-ogc-role"] == "primary-interval-end"
    assert "battle" in props["event_type"]["enum"]


def test_places_collection_items(client: TestClient) -> None:
    doc = client.get("/collections/places/items", params={"kind": "region"}).json()
    assert doc["features"] and all(f["properties"]["kind"] == "region" for f in doc["features"])


def test_openapi_describes_every_parameter_with_an_example(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if not param.get("description") or (
                    "example" not in param
                    and "examples" not in param
                    and "examples" not in param.get("schema", {})
                ):
                    missing.append(f"{method} {path} {param['name']}")
    assert missing == []
    limit = next(p for p in spec["paths"]["/events"]["get"]["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 10000 and limit["schema"]["default"] == 100
    # QGIS reads the page sizes from here (qgsoapifapirequest.cpp): pages of 1 000, not 100.
    shared = spec["components"]["parameters"]["limit"]["schema"]
    assert (shared["default"], shared["maximum"]) == (100, 10000)


def test_every_route_that_filters_events_documents_the_filters(client: TestClient) -> None:
    """The event filters are read by query_model, out of FastAPI's sight: each route that
    uses them must list them (openapi_extra), or clients and the unknown-parameter check
    would not know them."""
    spec = client.get("/openapi.json").json()
    reads = {event_filter: EventFilterParams, event_query: EventQueryParams}

    def readers(dependant: Dependant) -> set[Any]:
        found = {dependant.call} & set(reads)
        for sub in dependant.dependencies:
            found |= readers(sub)
        return found

    checked = 0
    routes = [r for m in (events, ogc, stats, tiles) for r in m.router.routes]
    for route in routes:
        assert isinstance(route, APIRoute)
        for reader in readers(route.dependant):
            names = {f.alias or n for n, f in reads[reader].model_fields.items()}
            listed = {p["name"] for p in spec["paths"][route.path]["get"]["parameters"]}
            assert names <= listed, route.path
            checked += 1
    assert checked >= 11  # /events, its export, OGC items, 3 stats, 5 tile routes
    response = client.get("/stats/timeline", params={"event_type": "battle", "bogus": "1"})
    assert response.status_code == 400 and response.json()["errors"][0]["parameter"] == "bogus"


def test_each_app_publishes_its_own_page_size_limit(seeded_url: str) -> None:
    """The documented parameters are shared by every app; the limits patched into one app's
    OpenAPI document must not leak into another's."""

    def limit(c: TestClient) -> dict[str, Any]:
        params = c.get("/openapi.json").json()["paths"]["/events"]["get"]["parameters"]
        return next(p["schema"] for p in params if p["name"] == "limit")  # type: ignore[no-any-return]

    with client_for(seeded_url, max_limit=500) as small, client_for(seeded_url) as default:
        assert limit(small)["maximum"] == 500
        assert limit(default)["maximum"] == 10000
        assert limit(small)["maximum"] == 500


def test_docs_render(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/?f=html", "Frontline"),
        ("/conformance?f=html", "conf/core"),
        ("/collections?f=html", "Conflict events"),
        ("/collections/events/queryables?f=html", "primary"),
        ("/collections/events/items?f=html", "Sudzha"),
        ("/events?f=html&place=demidovka", "Demidovka"),
    ],
)
def test_html_pages_for_browsers(client: TestClient, path: str, expected: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert expected in response.text and "<script" not in response.text


def test_browsers_get_html_by_accept_header(client: TestClient) -> None:
    response = client.get("/collections/events/items", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    assert "<svg" in response.text
