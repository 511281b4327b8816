"""What the exact OpenAPI document promises, checked one rule at a time (the whole document is
fuzzed by test_fuzz.py): each route's formats, the published grammars, required parameters."""

import pytest
from fastapi.testclient import TestClient

FORMATS = {
    "/": ["json", "html"],
    "/conformance": ["json", "html"],
    "/collections/events/queryables": ["json", "html"],
    "/collections/events/items": ["json", "geojson", "csv", "ndjson", "html"],
    "/events": ["json", "geojson", "csv", "ndjson", "html"],
    "/events/export": ["json", "geojson", "csv", "ndjson"],
    "/places": ["json", "geojson", "ndjson", "html"],
    "/places/sudzha": ["json", "geojson", "html"],
}


@pytest.mark.parametrize("path", sorted(FORMATS))
def test_f_is_exactly_the_formats_the_document_lists(seeded_client: TestClient, path: str) -> None:
    template = path.replace("sudzha", "{place_key}").replace(
        "/events/queryables", "/{collection_id}/queryables"
    )
    operation = seeded_client.get("/openapi.json").json()["paths"][template]["get"]
    (f,) = [p for p in operation["parameters"] if p["name"] == "f"]
    assert f["schema"]["enum"] == FORMATS[path]
    for name in ["json", "geojson", "csv", "ndjson", "html", "JSON"]:
        status = seeded_client.get(path, params={"f": name}).status_code
        assert status == (200 if name in FORMATS[path] else 400), (path, name)


@pytest.mark.parametrize("query", [
    "datetime=0001-01-01T00:00:00%2B01:00", "datetime=9999-12-31T23:00:00-05:00",
    "updated_since=0001-01-01T00:00:00%2B01:00", "as_of=0001-01-01T00:00:00%2B01:00",
    "filter=updated_at > TIMESTAMP('0001-01-01T00:00:00%2B01:00')",
])  # fmt: skip
def test_an_instant_outside_the_calendar_in_utc_is_a_400(
    seeded_client: TestClient, query: str
) -> None:
    # Each was a 500: the zone moved the instant out of years 1–9999.
    response = seeded_client.get(f"/events?{query}")
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("query", "parameter"), [
    ("sortby=", "sortby"), ("properties=", "properties"), ("updated_since=", "updated_since"),
    ("actor=", "actor"), ("event_type=battle,", "event_type"), ("bbox=1_0,50,36,51", "bbox"),
    ("bbox=35,50,36,51%09", "bbox"), ("sortby=--id", "sortby"),
    ("verification=%20", "verification"),
])  # fmt: skip
def test_what_breaks_a_published_grammar_is_refused(
    seeded_client: TestClient, query: str, parameter: str
) -> None:
    # Each used to be read loosely (an empty value as none, a float() spelling as a number).
    response = seeded_client.get(f"/events?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["parameter"] == parameter


def test_the_document_says_which_parameters_a_route_requires(seeded_client: TestClient) -> None:
    paths = seeded_client.get("/openapi.json").json()["paths"]
    search = {p["name"]: p for p in paths["/places/search"]["get"]["parameters"]}
    grid = {p["name"]: p for p in paths["/stats/grid"]["get"]["parameters"]}
    assert search["q"]["required"] is True and grid["bbox"]["required"] is True
    tiles = {p["name"]: p for p in paths["/tiles/events.json"]["get"]["parameters"]}
    assert tiles["include_deleted"]["schema"]["enum"] == [False]
    assert seeded_client.get("/stats/grid?size=10").status_code == 400


def test_crs_is_crs84_only_as_the_collections_say(seeded_client: TestClient) -> None:
    # GDAL 3.12 (pyogrio, geopandas) sends crs and bbox-crs: the collections list CRS84.
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    ok = seeded_client.get("/collections/events/items", params={"crs": crs84, "bbox-crs": crs84})
    assert ok.status_code == 200
    mercator = "http://www.opengis.net/def/crs/EPSG/0/3857"
    other = seeded_client.get("/collections/places/items", params={"crs": mercator})
    assert other.status_code == 400
    assert other.json()["errors"][0]["parameter"] == "crs"
