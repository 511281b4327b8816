"""Aggregates against real PostGIS: every count equals a plain Python count over the same rows
(and, on the seeds, what /events lists for the same parameters)."""

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient

from app.store import devdb
from tests.api.test_events import REGION_SHAPES, matches
from tests.conftest import client_for, scratch_database
from tests.factories import EventRow, insert_events, random_events

EVENT_COUNT = 400
R = 6378137.0


@pytest.fixture(scope="module")
def oracle_db(cluster: devdb.Cluster) -> Iterator[tuple[str, list[EventRow]]]:
    with scratch_database(
        cluster, "stats", partial(insert_events, rows=random_events(EVENT_COUNT, seed=5))
    ) as db:
        yield db


@pytest.fixture(scope="module")
def rows(oracle_db: tuple[str, list[EventRow]]) -> list[EventRow]:
    return oracle_db[1]


@pytest.fixture(scope="module")
def client(oracle_db: tuple[str, list[EventRow]]) -> Iterator[TestClient]:
    with client_for(oracle_db[0]) as c:
        yield c


def bucket_start(moment: datetime, interval: str) -> datetime:
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def fatality_sum(members: list[EventRow]) -> int | None:
    known = [r.fatalities for r in members if r.fatalities is not None]
    return sum(known) if known else None


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("interval", ["day", "week", "month"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"verification": "claimed,disputed", "bbox": "30,46,40,53"},
        {"datetime": "2023-03-01/2024-02-29", "within": "test-triangle"},
    ],
)
def test_timeline_matches_python_counts(
    client: TestClient, rows: list[EventRow], interval: str, params: dict[str, str]
) -> None:
    response = client.get("/stats/timeline", params={**params, "interval": interval})
    assert response.status_code == 200, response.text
    doc = response.json()
    groups: dict[datetime, list[EventRow]] = defaultdict(list)
    for row in rows:
        if matches(row, params):
            groups[bucket_start(row.start, interval)].append(row)
    expected = [
        {"start": iso(start), "count": len(members), "fatalities": fatality_sum(members)}
        for start, members in sorted(groups.items())
    ]
    got = [{k: b[k] for k in ("start", "count", "fatalities")} for b in doc["buckets"]]
    assert got == expected
    assert doc["total"] == sum(len(m) for m in groups.values())
    assert doc["interval"] == interval


def test_timeline_split_by_event_type(client: TestClient, rows: list[EventRow]) -> None:
    doc = client.get("/stats/timeline", params={"interval": "month", "by": "event_type"}).json()
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        expected[(iso(bucket_start(row.start, "month")), row.event_type)] += 1
    got = {
        (bucket["start"], key): group["count"]
        for bucket in doc["buckets"]
        for key, group in bucket["groups"].items()
    }
    assert got == expected
    for bucket in doc["buckets"]:
        assert bucket["count"] == sum(g["count"] for g in bucket["groups"].values())
    first = doc["buckets"][0]
    start = datetime.fromisoformat(first["start"])
    assert first["end"] == iso((start + timedelta(days=32)).replace(day=1))


@pytest.mark.parametrize("params", [{}, {"event_type": "battle,airstrike,shelling"}])
def test_region_counts_match_shapely(
    client: TestClient, rows: list[EventRow], params: dict[str, str]
) -> None:
    doc = client.get("/stats/regions", params=params).json()
    assert doc["kind"] == "region"
    got = {region["slug"]: region["count"] for region in doc["regions"]}
    expected = {
        slug: sum(
            1 for r in rows if matches(r, params) and shape.covers(shapely.Point(r.lon, r.lat))
        )
        for slug, shape in REGION_SHAPES.items()
    }
    assert got == expected
    counts = [region["count"] for region in doc["regions"]]
    assert counts == sorted(counts, reverse=True)


def test_region_counts_as_geojson(client: TestClient, rows: list[EventRow]) -> None:
    response = client.get("/stats/regions", params={"f": "geojson", "min_fatalities": "1"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    doc = response.json()
    assert doc["type"] == "FeatureCollection"
    for feature in doc["features"]:
        shape = shapely.geometry.shape(feature["geometry"])
        slug = feature["properties"]["slug"]
        assert shape.equals_exact(REGION_SHAPES[slug], 1e-6)
        members = [
            r
            for r in rows
            if r.fatalities is not None
            and r.fatalities >= 1
            and REGION_SHAPES[slug].covers(shapely.Point(r.lon, r.lat))
        ]
        assert feature["properties"]["count"] == len(members)
        assert feature["properties"]["fatalities"] == fatality_sum(members)


def mercator(lon: float, lat: float) -> tuple[float, float]:
    return (
        R * math.radians(lon),
        R * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)),
    )


@pytest.mark.parametrize("shape", ["square", "hexagon"])
@pytest.mark.parametrize(
    ("bbox", "size", "params"),
    [
        ("31,47,39,52", "60", {}),
        ("33.5,48.2,37.7,51.9", "25", {"verification": "confirmed,unverified"}),
    ],
)
def test_grid_cells_hold_the_points_python_puts_in_them(
    client: TestClient,
    rows: list[EventRow],
    shape: str,
    bbox: str,
    size: str,
    params: dict[str, str],
) -> None:
    query = {**params, "bbox": bbox, "size": size, "shape": shape}
    response = client.get("/stats/grid", params=query)
    assert response.status_code == 200, response.text
    doc = response.json()
    assert (doc["shape"], doc["size_km"]) == (shape, float(size))
    wanted = [r for r in rows if matches(r, {**params, "bbox": bbox})]
    cells = [
        (
            shapely.Polygon([mercator(*pos) for pos in feature["geometry"]["coordinates"][0]]),
            feature["properties"],
        )
        for feature in doc["features"]
    ]
    assert sum(props["count"] for _, props in cells) == len(wanted)
    for polygon, props in cells:
        members = [r for r in wanted if polygon.covers(shapely.Point(mercator(r.lon, r.lat)))]
        assert props["count"] == len(members) > 0
        assert props["fatalities"] == fatality_sum(members)
    # The cell is `size` km on the ground at the middle latitude of the box.
    south, north = (float(v) for v in bbox.split(",")[1::2])
    edge_m = float(size) * 1000 / math.cos(math.radians((south + north) / 2))
    ring = list(cells[0][0].exterior.coords)
    assert math.dist(ring[0], ring[1]) == pytest.approx(edge_m, rel=1e-4)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("/stats/grid?size=10", "bbox"),
        ("/stats/grid?bbox=170,0,-170,10&size=10", "bbox"),
        ("/stats/grid?bbox=-180,-90,180,90&size=1", "size"),
        ("/stats/grid?bbox=30,46,40,53&size=0", "size"),
        # Found by the long schemathesis run: a vanishing size overflowed the cell count (500).
        ("/stats/grid?bbox=30,46,40,53&size=1e-300", "size"),
        ("/stats/grid?bbox=30,46,40,53&shape=triangle", "shape"),
        ("/stats/timeline?interval=year", "interval"),
        ("/stats/timeline?by=actor", "by"),
        ("/stats/timeline?cursor=x", "cursor"),
        ("/stats/regions?kind=settlement", "kind"),
        ("/stats/regions?f=csv", "f"),
        ("/stats/regions?within=Atlantis", "within"),
        ("/stats/timeline?include_deleted=true", "include_deleted"),
    ],
)
def test_bad_aggregate_parameters_are_named(client: TestClient, query: str, parameter: str) -> None:
    response = client.get(query)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


def test_aggregates_have_etags(client: TestClient) -> None:
    etag = client.get("/stats/timeline").headers["etag"]
    assert client.get("/stats/timeline", headers={"If-None-Match": etag}).status_code == 304


def events_count(client: TestClient, **params: str) -> int:
    body: dict[str, Any] = client.get("/events", params={**params, "count": "true"}).json()
    return int(body["numberMatched"])


def test_seeded_region_counts_agree_with_events(seeded_client: TestClient) -> None:
    doc = seeded_client.get("/stats/regions").json()
    by_slug = {region["slug"]: region for region in doc["regions"]}
    assert by_slug["belgorod-oblast"]["count"] > 0
    for slug, region in by_slug.items():
        assert region["count"] == events_count(seeded_client, within=slug), slug
    timeline = seeded_client.get("/stats/timeline", params={"datetime": "2025-03-01/2025-03-31"})
    assert timeline.json()["total"] == events_count(seeded_client, datetime="2025-03-01/2025-03-31")
