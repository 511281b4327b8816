"""Vector tiles against real PostGIS: decoded tiles hold exactly the events that an independent
Python computation (Web Mercator formulas, Shapely) puts in them, points or counts per cell."""

import asyncio
import gzip
import math
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.store import devdb
from app.store.engine import make_engine
from tests.api.test_events import matches
from tests.conftest import client_for, scratch_database, settings_for
from tests.factories import EventRow, insert_events, random_events

EVENT_COUNT = 400
EXTENT = 4096
MVT = "application/vnd.mapbox-vector-tile"


@pytest.fixture(scope="module")
def oracle_db(cluster: devdb.Cluster) -> Iterator[tuple[str, list[EventRow]]]:
    with scratch_database(
        cluster, "tiles", partial(insert_events, rows=random_events(EVENT_COUNT, seed=11))
    ) as db:
        yield db


@pytest.fixture(scope="module")
def rows(oracle_db: tuple[str, list[EventRow]]) -> list[EventRow]:
    return oracle_db[1]


@pytest.fixture(scope="module")
def client(oracle_db: tuple[str, list[EventRow]]) -> Iterator[TestClient]:
    with client_for(oracle_db[0]) as c:
        yield c


# The oracle: the slippy-map formulas, written out again here rather than imported from app/.
def tile_position(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional tile coordinates (x from the west, y from the north) at zoom z."""
    n = 2**z
    x = (lon + 180.0) / 360.0 * n
    y = 1.0 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi
    return x, y / 2.0 * n


def in_tile(row: EventRow, z: int, x: int, y: int) -> bool:
    fx, fy = tile_position(row.lon, row.lat, z)
    n = 2**z
    return min(int(fx), n - 1) == x and min(int(fy), n - 1) == y


def pixel(row: EventRow, z: int, x: int, y: int) -> tuple[float, float]:
    fx, fy = tile_position(row.lon, row.lat, z)
    return (fx - x) * EXTENT, (fy - y) * EXTENT


def decode(content: bytes) -> dict[str, Any]:
    layers: dict[str, Any] = mapbox_vector_tile.decode(
        content, default_options={"y_coord_down": True}
    )
    return layers


def get_tile(client: TestClient, z: int, x: int, y: int, **params: str) -> dict[str, Any]:
    response = client.get(f"/tiles/events/{z}/{x}/{y}.mvt", params=params)
    if response.status_code == 204:
        return {}
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MVT
    return decode(response.content)


def busiest_tiles(rows: list[EventRow], z: int, count: int = 3) -> list[tuple[int, int]]:
    tally = Counter(
        (min(int(fx), 2**z - 1), min(int(fy), 2**z - 1))
        for fx, fy in (tile_position(r.lon, r.lat, z) for r in rows)
    )
    return [tile for tile, _ in tally.most_common(count)]


@pytest.mark.parametrize("z", [3, 5, 7, 9])
def test_points_in_tiles_match_the_oracle(client: TestClient, rows: list[EventRow], z: int) -> None:
    for x, y in busiest_tiles(rows, z):
        layers = get_tile(client, z, x, y)
        expected = {r.id: r for r in rows if in_tile(r, z, x, y)}
        assert set(layers) == {"events"}
        features = layers["events"]["features"]
        assert sorted(f["id"] for f in features) == sorted(expected)
        for feature in features:
            row = expected[feature["id"]]
            props = feature["properties"]
            assert props["id"] == row.id
            assert props["event_type"] == row.event_type
            assert props["verification"] == row.verification
            assert props["occurred_at"] == row.start.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert props.get("fatalities") == row.fatalities
            assert props["place_name"] == "Testville"
            assert props["source_count"] == 0
            px, py = feature["geometry"]["coordinates"]
            ex, ey = pixel(row, z, x, y)
            assert abs(px - ex) <= 1 and abs(py - ey) <= 1


def test_every_event_is_in_exactly_one_tile_of_a_zoom(
    client: TestClient, rows: list[EventRow]
) -> None:
    z = 2
    seen: list[int] = []
    for x in range(4):
        for y in range(4):
            layers = get_tile(client, z, x, y)
            seen += [f["id"] for f in layers.get("events", {}).get("features", [])]
    visible = [r.id for r in rows if abs(r.lat) < 85.0511]
    assert sorted(seen) == sorted(visible)


@pytest.mark.parametrize(
    "params",
    [
        {"datetime": "2023-01-01/2023-12-31"},
        {"event_type": "battle,shelling", "verification": "confirmed,claimed"},
        {"within": "test-triangle"},
        {"min_fatalities": "5", "datetime": "2024-06-01/.."},
    ],
)
def test_tiles_honour_the_events_filters(
    client: TestClient, rows: list[EventRow], params: dict[str, str]
) -> None:
    z = 4
    for x, y in busiest_tiles(rows, z):
        layers = get_tile(client, z, x, y, **params)
        got = sorted(f["id"] for f in layers.get("events", {}).get("features", []))
        assert got == sorted(r.id for r in rows if in_tile(r, z, x, y) and matches(r, params))


@pytest.fixture(scope="module")
def capped_client(oracle_db: tuple[str, list[EventRow]]) -> Iterator[TestClient]:
    with client_for(oracle_db[0], tile_max_features=20) as c:
        yield c


@pytest.mark.parametrize("z", [1, 3, 4])
def test_crowded_tiles_count_points_per_cell(
    capped_client: TestClient, rows: list[EventRow], z: int
) -> None:
    cells_per_side = 4  # the largest power of two whose square is at most 20
    cell = EXTENT / cells_per_side
    x, y = busiest_tiles(rows, z, 1)[0]
    inside = [r for r in rows if in_tile(r, z, x, y)]
    assert len(inside) > 20
    groups: dict[tuple[int, int], list[EventRow]] = {}
    for row in inside:
        px, py = pixel(row, z, x, y)
        key = (min(int(px // cell), cells_per_side - 1), min(int(py // cell), cells_per_side - 1))
        groups.setdefault(key, []).append(row)
    layers = get_tile(capped_client, z, x, y)
    assert set(layers) == {"event_cells"}
    features = layers["event_cells"]["features"]
    assert len(features) == len(groups) <= 20
    assert sum(f["properties"]["count"] for f in features) == len(inside)
    for members in groups.values():
        # Each cell sits at the mean position of its events, inside the cell.
        mx = sum(pixel(r, z, x, y)[0] for r in members) / len(members)
        my = sum(pixel(r, z, x, y)[1] for r in members) / len(members)
        feature = min(
            features,
            key=lambda f: math.dist(f["geometry"]["coordinates"], (mx, my)),
        )
        assert math.dist(feature["geometry"]["coordinates"], (mx, my)) <= 1.5
        props = feature["properties"]
        assert props["count"] == len(members)
        known = [r.fatalities for r in members if r.fatalities is not None]
        assert props.get("fatalities") == (sum(known) if known else None)
        assert props["first_at"] == min(r.start for r in members).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_quiet_tiles_stay_points_under_the_cap(
    capped_client: TestClient, rows: list[EventRow]
) -> None:
    z = 9
    for x, y in busiest_tiles(rows, z, 5):
        expected = [r.id for r in rows if in_tile(r, z, x, y)]
        assert len(expected) <= 20
        layers = get_tile(capped_client, z, x, y)
        assert sorted(f["id"] for f in layers["events"]["features"]) == sorted(expected)


def test_empty_tile_is_204_with_validators(client: TestClient) -> None:
    response = client.get("/tiles/events/10/0/0.mvt")
    assert response.status_code == 204
    assert response.content == b""
    assert "ETag" in response.headers
    assert "max-age" in response.headers["cache-control"]


def test_tiles_have_etags_and_are_gzipped(client: TestClient, rows: list[EventRow]) -> None:
    x, y = busiest_tiles(rows, 3, 1)[0]
    url = f"/tiles/events/3/{x}/{y}.mvt"
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["cache-control"].startswith("public, max-age=")
    etag = response.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    assert len(gzip.compress(raw.content)) < len(raw.content)
    assert client.get(url, params={"event_type": "battle"}).headers["etag"] != etag


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/tiles/events/25/0/0.mvt", 404, "z"),
        ("/tiles/events/-1/0/0.mvt", 404, "z"),
        ("/tiles/events/3/8/0.mvt", 404, "x"),
        ("/tiles/events/3/0/8.mvt", 404, "y"),
        ("/tiles/events/3/a/0.mvt", 400, "x"),
        ("/tiles/events/3/0/0.mvt?include_deleted=true", 400, "include_deleted"),
        ("/tiles/events/3/0/0.mvt?limit=5", 400, "limit"),
        ("/tiles/events/3/0/0.mvt?datetime=yesterday", 400, "datetime"),
        ("/collections/events/tiles/WebMercatorQuad/3/8/0", 404, "tileRow"),
        ("/collections/events/tiles/WebMercatorQuad/3/0/8", 404, "tileCol"),
        ("/collections/events/tiles/WebMercatorQuad/30/0/0", 404, "tileMatrix"),
    ],
)
def test_bad_tile_addresses_name_the_parameter(
    client: TestClient, path: str, status: int, parameter: str
) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["parameter"] for e in response.json()["errors"]] == [parameter]


def test_ogc_tiles_are_the_same_tiles(client: TestClient, rows: list[EventRow]) -> None:
    x, y = busiest_tiles(rows, 5, 1)[0]
    xyz = client.get(f"/tiles/events/5/{x}/{y}.mvt", params={"verification": "claimed"})
    ogc = client.get(
        f"/collections/events/tiles/WebMercatorQuad/5/{y}/{x}", params={"verification": "claimed"}
    )
    assert ogc.status_code == 200
    assert ogc.content == xyz.content
    assert client.get("/collections/events/tiles/WorldCRS84Quad/0/0/0").status_code == 404


def test_tileset_documents(client: TestClient) -> None:
    listing = client.get("/collections/events/tiles", params={"f": "json"}).json()
    tileset = listing["tilesets"][0]
    assert tileset["dataType"] == "vector"
    assert tileset["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    doc = client.get("/collections/events/tiles/WebMercatorQuad?event_type=battle").json()
    template = next(link for link in doc["links"] if link["rel"] == "item")
    assert template["templated"] is True
    assert template["href"].endswith("/{tileMatrix}/{tileRow}/{tileCol}?event_type=battle")
    tms = client.get("/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"] == "http://www.opengis.net/def/crs/EPSG/0/3857"
    zero, three = tms["tileMatrices"][0], tms["tileMatrices"][3]
    assert zero["cellSize"] == pytest.approx(156543.03392804097)
    assert zero["scaleDenominator"] == pytest.approx(559082264.0287178)
    assert (three["matrixWidth"], three["matrixHeight"]) == (8, 8)
    assert [t["id"] for t in client.get("/tileMatrixSets").json()["tileMatrixSets"]] == [
        "WebMercatorQuad"
    ]
    links = client.get("/collections/events").json()["links"]
    rel = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    tiles_link = next(link for link in links if link["rel"] == rel)
    assert client.get(tiles_link["href"]).status_code == 200


def test_tilejson_carries_the_filters(client: TestClient) -> None:
    response = client.get("/tiles/events.json", params={"datetime": "2024-01-01/..", "f": "json"})
    assert response.status_code == 200
    doc = response.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"][0].endswith("/tiles/events/{z}/{x}/{y}.mvt?datetime=2024-01-01%2F..")
    assert {layer["id"] for layer in doc["vector_layers"]} == {"events", "event_cells"}
    west, south, east, north = doc["bounds"]
    assert -180 <= west < east <= 180 and south < north
    unknown = client.get("/tiles/events.json", params={"within": "Atlantis"})
    assert unknown.status_code == 400


def test_deleted_events_leave_the_tiles(fresh_url: str) -> None:
    async def load() -> list[EventRow]:
        engine = make_engine(fresh_url, settings_for(fresh_url))
        try:
            inserted = await insert_events(engine, random_events(30, seed=3))
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE events SET deleted_at = now() WHERE id = :id"),
                    {"id": inserted[0].id},
                )
            return inserted
        finally:
            await engine.dispose()

    inserted = asyncio.run(load())
    with client_for(fresh_url) as c:
        ids = [f["id"] for f in get_tile(c, 0, 0, 0)["events"]["features"]]
    assert inserted[0].id not in ids
    assert sorted(ids) == sorted(r.id for r in inserted[1:] if abs(r.lat) < 85.0511)
