"""/events against real PostGIS: every bbox/datetime form returns exactly what an independent
Shapely + Python oracle says, across page boundaries."""

import csv
import io
import json
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import partial

import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.filters import BBox, Interval
from app.domain.parsing import parse_bbox, parse_datetime
from app.domain.vocab import EventType, Verification, values
from app.store import devdb
from app.store.queries.events import EVENT_PROPERTY_NAMES
from tests.conftest import client_for, scratch_database
from tests.factories import REGIONS, EventRow, insert_events, random_events

EVENT_COUNT = 400


@pytest.fixture(scope="module")
def oracle_db(cluster: devdb.Cluster) -> Iterator[tuple[str, list[EventRow]]]:
    with scratch_database(
        cluster, "oracle", partial(insert_events, rows=random_events(EVENT_COUNT))
    ) as db:
        yield db


@pytest.fixture(scope="module")
def client(oracle_db: tuple[str, list[EventRow]]) -> Iterator[TestClient]:
    with client_for(oracle_db[0]) as c:
        yield c


@pytest.fixture(scope="module")
def rows(oracle_db: tuple[str, list[EventRow]]) -> list[EventRow]:
    return oracle_db[1]


def in_box(row: EventRow, box: BBox) -> bool:
    point = shapely.Point(row.lon, row.lat)
    return any(
        shapely.box(p.min_lon, p.min_lat, p.max_lon, p.max_lat).covers(point) for p in box.parts()
    )


def in_interval(row: EventRow, interval: Interval) -> bool:
    starts_before_end = interval.end is None or (
        row.start <= interval.end if interval.end_inclusive else row.start < interval.end
    )
    # Spans are half-open [start, end); an instant (end == start) is the one point.
    ends_after_start = interval.start is None or (
        row.end > interval.start if row.end > row.start else row.end >= interval.start
    )
    return starts_before_end and ends_after_start


GEOD = pyproj.Geod(ellps="WGS84")
REGION_SHAPES = {slug: shapely.from_wkt(wkt) for slug, wkt in REGIONS.items()}


def near_ok(row: EventRow, near: str, radius_km: str) -> bool:
    lon, lat = (float(v) for v in near.split(","))
    _, _, metres = GEOD.inv(lon, lat, row.lon, row.lat)
    return bool(metres <= float(radius_km) * 1000)


def matches(row: EventRow, params: dict[str, str]) -> bool:
    """The independent oracle: Shapely, pyproj and plain Python over the inserted rows."""
    checks: dict[str, Callable[[str], bool]] = {
        "bbox": lambda v: in_box(row, parse_bbox(v)),
        "datetime": lambda v: in_interval(row, parse_datetime(v)),
        "event_type": lambda v: row.event_type in v.split(","),
        "verification": lambda v: row.verification in v.split(","),
        "within": lambda v: bool(REGION_SHAPES[v].covers(shapely.Point(row.lon, row.lat))),
        "near": lambda v: near_ok(row, v, params["radius"]),
        "min_fatalities": lambda v: row.fatalities is not None and row.fatalities >= int(v),
        "actor": lambda v: any(v.lower() in a.lower() for a in row.actors),
    }
    return all(check(params[name]) for name, check in checks.items() if name in params)


def oracle(rows: list[EventRow], params: dict[str, str]) -> list[int]:
    hits = [r for r in rows if matches(r, params)]
    return [r.id for r in sorted(hits, key=lambda r: (r.start, r.id))]


def fetch_all_ids(client: TestClient, params: dict[str, str], limit: int = 37) -> list[int]:
    """Follow next links to the end, checking each page's shape on the way."""
    response = client.get("/events", params={**params, "limit": str(limit)})
    ids: list[int] = []
    while True:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/geo+json"
        body = response.json()
        assert body["type"] == "FeatureCollection"
        assert body["numberReturned"] == len(body["features"]) <= limit
        ids += [feature["id"] for feature in body["features"]]
        next_links = [link for link in body["links"] if link["rel"] == "next"]
        if not next_links:
            assert "next" not in response.headers.get("link", "")
            return ids
        assert f'<{next_links[0]["href"]}>; rel="next"' in response.headers["link"]
        response = client.get(next_links[0]["href"])


CASES = [
    ("35.0,50.8,35.8,51.3", None),
    ("30,46,35,50", None),
    ("170,55,-170,75", None),
    ("30,46,-100,35,50,100", None),
    (None, "2023-05-17"),
    (None, "2023-05-17T12:00:00Z"),
    (None, "2023-01-01/2023-03-31"),
    (None, "2024-06-01/.."),
    (None, "../2022-04-01T00:00:00Z"),
    (None, "/2022-03-01"),
    ("32,47,38,51", "2022-06-01/2022-12-31"),
    ("-180,-90,180,90", "2022-02-24T00:00:00Z/2025-12-31T23:59:59Z"),
]


@pytest.mark.parametrize(("bbox", "when"), CASES)
def test_filters_match_the_oracle(
    client: TestClient, rows: list[EventRow], bbox: str | None, when: str | None
) -> None:
    params = {k: v for k, v in {"bbox": bbox, "datetime": when}.items() if v is not None}
    expected = oracle(rows, params)
    assert fetch_all_ids(client, params) == expected
    assert expected, "each case should select something, or it proves little"


def test_no_filter_pages_through_everything(client: TestClient, rows: list[EventRow]) -> None:
    assert fetch_all_ids(client, {}, limit=100) == oracle(rows, {})
    assert len(rows) == EVENT_COUNT


def test_prev_link_returns_the_previous_page(client: TestClient) -> None:
    first = client.get("/events", params={"limit": "10"}).json()
    second = client.get(next(lk["href"] for lk in first["links"] if lk["rel"] == "next")).json()
    back = client.get(next(lk["href"] for lk in second["links"] if lk["rel"] == "prev")).json()
    assert [f["id"] for f in back["features"]] == [f["id"] for f in first["features"]]
    assert not any(lk["rel"] == "prev" for lk in first["links"])


def test_geojson_pages_match_the_row_by_row_formats(client: TestClient) -> None:
    """GeoJSON pages are joined in PostgreSQL; NDJSON pages are built from rows: the same
    Features and cursors, forward and backward, on a descending multi-key sort."""
    url = "/events?limit=7&sortby=-fatalities,id"
    rels = []
    for _ in range(3):
        page = client.get(url).json()
        ndjson = client.get(url + "&f=ndjson").text.splitlines()
        assert [json.loads(line) for line in ndjson] == page["features"]
        assert page["numberReturned"] == 7
        links = {lk["rel"]: lk["href"] for lk in page["links"]}
        rels.append(sorted(links))
        url = links["next"]
    assert rels == [["next", "self"], ["next", "prev", "self"], ["next", "prev", "self"]]
    back = client.get(links["prev"]).json()
    ndjson = client.get(links["prev"] + "&f=ndjson").text.splitlines()
    assert [json.loads(line) for line in ndjson] == back["features"]
    assert back["numberReturned"] == 7 and "prev" in {lk["rel"] for lk in back["links"]}


@st.composite
def queries(draw: st.DrawFn) -> dict[str, str]:
    """Random combinations of every filter the oracle understands."""
    params: dict[str, str] = {}
    if draw(st.booleans()):
        lon, lat = draw(st.floats(-180, 179)), draw(st.floats(-90, 80))
        width, height = draw(st.floats(0.01, 20)), draw(st.floats(0.01, 10))
        max_lon = lon + width if lon + width <= 180 else lon + width - 360
        params["bbox"] = f"{lon},{lat},{max_lon},{min(lat + height, 90)}"
    if draw(st.booleans()):
        day = draw(st.dates(date(2022, 1, 1), date(2025, 6, 1)))
        end = day + timedelta(days=draw(st.integers(0, 400)))
        params["datetime"] = f"{day.isoformat()}/{end.isoformat()}"
    if draw(st.booleans()):
        kinds = draw(st.sets(st.sampled_from(values(EventType)), min_size=1, max_size=4))
        params["event_type"] = ",".join(sorted(kinds))
    if draw(st.booleans()):
        statuses = draw(st.sets(st.sampled_from(values(Verification)), min_size=1, max_size=3))
        params["verification"] = ",".join(sorted(statuses))
    if draw(st.booleans()):
        params["near"] = f"{draw(st.floats(30, 40))},{draw(st.floats(46, 53))}"
        params["radius"] = str(draw(st.floats(1, 400)))
    if draw(st.booleans()):
        params["within"] = draw(st.sampled_from(sorted(REGIONS)))
    if draw(st.booleans()):
        params["min_fatalities"] = str(draw(st.sampled_from([0, 1, 5, 6, 20])))
    if draw(st.booleans()):
        params["actor"] = draw(st.sampled_from(["russia", "UKRAINE", "wagner", "forces of"]))
    return params


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=queries(), limit=st.integers(1, 120))
def test_random_queries_match_the_oracle(
    client: TestClient, rows: list[EventRow], params: dict[str, str], limit: int
) -> None:
    assert fetch_all_ids(client, params, limit=limit) == oracle(rows, params)


def test_every_format_returns_the_same_events(client: TestClient, rows: list[EventRow]) -> None:
    params = {"bbox": "32,47,38,51", "datetime": "2022-06-01/2023-06-30", "limit": "10000"}
    expected = oracle(rows, params)
    geojson = [f["id"] for f in client.get("/events", params=params).json()["features"]]
    ndjson = client.get("/events", params={**params, "f": "ndjson"}).text.splitlines()
    csv_text = client.get("/events", params={**params, "f": "csv"}).text
    exported = client.get(
        "/events/export", params={k: v for k, v in params.items() if k != "limit"}
    )
    assert geojson == expected
    assert [json.loads(line)["id"] for line in ndjson] == expected
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(csv_text))] == expected
    assert [f["id"] for f in exported.json()["features"]] == expected
    assert exported.json()["numberReturned"] == len(expected)


def test_sortby_descending_pages_in_reverse(client: TestClient, rows: list[EventRow]) -> None:
    ids = fetch_all_ids(client, {"sortby": "-occurred_at"}, limit=45)
    assert ids == [r.id for r in sorted(rows, key=lambda r: (r.start, r.id), reverse=True)]


def test_sortby_fatalities_then_time(client: TestClient, rows: list[EventRow]) -> None:
    def key(r: EventRow) -> tuple[int, datetime, int]:
        return (-(r.fatalities if r.fatalities is not None else -1), r.start, r.id)

    ids = fetch_all_ids(client, {"sortby": "-fatalities,occurred_at"}, limit=33)
    assert ids == [r.id for r in sorted(rows, key=key)]


def test_properties_selects_columns(client: TestClient) -> None:
    body = client.get("/events", params={"limit": "3", "properties": "title,verification"}).json()
    assert all(set(f["properties"]) == {"title", "verification"} for f in body["features"])


def test_count_reports_number_matched(client: TestClient, rows: list[EventRow]) -> None:
    params = {"bbox": "30,46,35,50", "count": "true", "limit": "2"}
    body = client.get("/events", params=params).json()
    assert body["numberMatched"] == len(oracle(rows, {"bbox": "30,46,35,50"}))
    assert "numberMatched" not in client.get("/events", params={"limit": "2"}).json()


def test_etag_gives_304(client: TestClient) -> None:
    first = client.get("/events", params={"limit": "5"})
    headers = {"If-None-Match": first.headers["etag"]}
    again = client.get("/events", params={"limit": "5"}, headers=headers)
    assert again.status_code == 304 and again.content == b""
    assert "max-age" in first.headers["cache-control"]


def test_gzip_when_accepted(client: TestClient) -> None:
    response = client.get("/events", params={"limit": "200"}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["type"] == "FeatureCollection"


def test_accept_header_negotiates_the_format(client: TestClient) -> None:
    response = client.get("/events", params={"limit": "1"}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("id,longitude,latitude,")


def test_cors_allows_reads_from_any_origin(client: TestClient) -> None:
    response = client.get("/events?limit=1", headers={"Origin": "https://maps.example"})
    assert response.headers["access-control-allow-origin"] == "*"


def test_single_event_is_a_feature_with_its_etag(client: TestClient, rows: list[EventRow]) -> None:
    row = rows[0]
    response = client.get(f"/events/{row.id}")
    assert response.status_code == 200
    assert response.headers["etag"] == '"1"'
    feature = response.json()
    assert feature["type"] == "Feature" and feature["id"] == row.id
    assert feature["geometry"] == {"type": "Point", "coordinates": [row.lon, row.lat]}
    assert feature["properties"]["event_type"] == row.event_type
    assert datetime.fromisoformat(feature["properties"]["occurred_at"]) == row.start


def problem(response: object) -> dict[str, object]:
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize(
    ("query", "parameter", "message"),
    [
        ("bbox=35,50,36", "bbox", "expected 4 numbers minLon,minLat,maxLon,maxLat (or 6), got 3"),
        ("bbox=35,95,36,96", "bbox", "latitude 95 is outside [-90, 90]"),
        ("bbox=35,x,36,51", "bbox", "'x' is not a number"),
        (
            "datetime=yesterday",
            "datetime",
            "'yesterday' is not an RFC 3339 date-time such as 2025-03-17T10:00:00Z",
        ),
        ("datetime=2025-03-31/2025-03-01", "datetime", "the interval ends before it starts"),
        ("limit=-1", "limit", "Input should be greater than or equal to 1"),
        ("limit=0", "limit", "Input should be greater than or equal to 1"),
        (
            "limit=abc",
            "limit",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ("limit=10001", "limit", "must be at most 10000"),
        ("cursor=zzz", "cursor", "not a cursor issued by this service"),
        (
            "colour=red",
            "colour",
            "unknown query parameter; this endpoint accepts: actor, as_of, bbox, changes_after, "
            "changes_before, count, cursor, dataset, datetime, event_type, external_id, f, "
            "filter, filter-crs, filter-lang, "
            "include_deleted, limit, min_fatalities, near, place, properties, q, radius, sortby, "
            "source, updated_since, verification, within",
        ),
        ("bbox=35,52,36,51", "bbox", "minLat is greater than maxLat"),
        ("datetime=2025-03-01/2025-02-30", "datetime", "'2025-02-30' is not a valid date"),
        ("near=35,51&radius=-3", "radius", "must be greater than 0 and at most 20000 km"),
        ("near=35,51", "radius", "`near` needs a radius in kilometres"),
        ("radius=5", "near", "`radius` needs a centre: near=lon,lat"),
        ("near=35&radius=5", "near", "expected lon,lat, got 1 values"),
        ("place=Atlantis", "place", "no place is called 'Atlantis'"),
        ("within=Atlantis", "within", "no place is called 'Atlantis'"),
        (
            "sortby=colour",
            "sortby",
            "cannot sort by 'colour'; sortable: id, occurred_at, "
            "occurred_until, updated_at, created_at, event_type, verification, fatalities, title",
        ),
        (
            "event_type=picnic",
            "event_type",
            "unknown value 'picnic'; allowed: battle, "
            "ground_operation, incursion, shelling, airstrike, missile_strike, drone_strike, "
            "explosion, territorial_change, statement, air_raid_alert, "
            "violence_against_civilians, protest, other",
        ),
        (
            "verification=maybe",
            "verification",
            "unknown value 'maybe'; allowed: unverified, claimed, disputed, corroborated, "
            "confirmed, refuted",
        ),
        ("min_fatalities=-1", "min_fatalities", "Input should be greater than or equal to 0"),
        # Found by schemathesis: a value past the 32-bit column was a 500.
        (
            "min_fatalities=305990205349935616",
            "min_fatalities",
            "Input should be less than or equal to 2147483647",
        ),
        (
            "updated_since=last%20week",
            "updated_since",
            "'last week' is not an RFC 3339 date-time such as 2025-03-17T10:00:00Z",
        ),
        (
            "properties=title,colour",
            "properties",
            "unknown value 'colour'; allowed: " + ", ".join(EVENT_PROPERTY_NAMES),
        ),
        ("f=xml", "f", "unknown format 'xml'; use one of: json, geojson, csv, ndjson, html"),
        ("q=%20", "q", "must not be empty"),
        ("count=maybe", "count", "Input should be a valid boolean, unable to interpret input"),
    ],
)
def test_bad_input_is_a_400_problem_naming_the_parameter(
    client: TestClient, query: str, parameter: str, message: str
) -> None:
    response = client.get(f"/events?{query}")
    assert response.status_code == 400
    body = problem(response)
    assert body["status"] == 400
    assert body["title"] == "Invalid query parameter"
    assert body["errors"] == [{"parameter": parameter, "in": "query", "message": message}]
    assert parameter in str(body["detail"])


@pytest.mark.parametrize("path", ["/events/999999", "/events/0", "/events/99999999999999999999"])
def test_unknown_event_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert problem(response)["title"] == "Not found"


def test_an_event_id_is_a_number(client: TestClient) -> None:
    # /events/{id} takes numbers only, so /events/export and /events/abc are other paths.
    response = client.get("/events/abc")
    assert response.status_code == 404
    assert problem(response)["title"] == "Not found"
    response = client.put("/events/export", json={})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
