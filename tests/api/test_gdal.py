"""GDAL as a real client: the OAPIF driver, and ogr2ogr over GeoJSON and CSV exports."""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_for, live_server


@pytest.fixture(scope="module")
def server(seeded_url: str) -> Iterator[str]:
    with live_server(seeded_url) as base:
        yield base


@pytest.fixture(scope="module")
def seeded_events(seeded_url: str) -> list[dict[str, object]]:
    with client_for(seeded_url) as client:
        features: list[dict[str, object]] = client.get("/events?limit=10000").json()["features"]
    return features


def gdal(*args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return result


def ogr_features(*args: str) -> list[dict[str, object]]:
    """Read a layer through GDAL and hand it back as GeoJSON features."""
    out = gdal("ogr2ogr", "-f", "GeoJSON", "/vsistdout/", *args).stdout
    features: list[dict[str, object]] = json.loads(out)["features"]
    return features


def test_oapif_lists_both_collections(server: str) -> None:
    listing = gdal("ogrinfo", "-ro", "-q", f"OAPIF:{server}").stdout
    assert "events" in listing and "places" in listing


def test_oapif_reads_every_seeded_event_with_its_attributes(
    server: str, seeded_events: list[dict[str, object]]
) -> None:
    read = ogr_features(f"OAPIF:{server}", "events")
    assert sorted(f["properties"]["title"] for f in read) == sorted(  # type: ignore[index]
        f["properties"]["title"]
        for f in seeded_events  # type: ignore[index]
    )
    by_title = {f["properties"]["title"]: f for f in read}  # type: ignore[index]
    for event in seeded_events:
        props = event["properties"]
        got = by_title[props["title"]]  # type: ignore[index]
        assert got["properties"]["verification"] == props["verification"]  # type: ignore[index]
        assert got["properties"]["event_type"] == props["event_type"]  # type: ignore[index]
        assert got["geometry"]["coordinates"] == pytest.approx(  # type: ignore[index]
            event["geometry"]["coordinates"]  # type: ignore[index]
        )


def test_oapif_honours_a_spatial_filter(
    server: str, seeded_events: list[dict[str, object]]
) -> None:
    box = (35.0, 50.8, 35.8, 51.3)
    inside = {
        f["properties"]["title"]  # type: ignore[index]
        for f in seeded_events
        if box[0] <= f["geometry"]["coordinates"][0] <= box[2]  # type: ignore[index]
        and box[1] <= f["geometry"]["coordinates"][1] <= box[3]  # type: ignore[index]
    }
    read = ogr_features("-spat", *map(str, box), f"OAPIF:{server}", "events")
    assert {f["properties"]["title"] for f in read} == inside  # type: ignore[index]
    assert inside


def test_oapif_pages_through_more_than_one_page(server: str) -> None:
    all_places = ogr_features(f"OAPIF:{server}", "places")
    paged = ogr_features("-oo", "PAGE_SIZE=3", f"OAPIF:{server}", "places")
    assert len(all_places) > 3
    assert sorted(f["properties"]["slug"] for f in paged) == sorted(  # type: ignore[index]
        f["properties"]["slug"]
        for f in all_places  # type: ignore[index]
    )


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_ogr2ogr_converts_exports_to_geopackage(
    server: str, tmp_path: Path, fmt: str, seeded_events: list[dict[str, object]]
) -> None:
    target = tmp_path / f"events-{fmt}.gpkg"
    # Streamed downloads: GDAL reads them once, front to back, as a curl-based tool would.
    source = f"/vsicurl_streaming/{server}/events?f={fmt}&limit=10000"
    extra = ["-oo", "X_POSSIBLE_NAMES=longitude", "-oo", "Y_POSSIBLE_NAMES=latitude",
             "-a_srs", "EPSG:4326"] if fmt == "csv" else []  # fmt: skip
    if fmt == "geojson":  # actors/tags are JSON arrays; GeoPackage has no list type
        extra = ["-mapFieldType", "StringList=String"]
    if fmt == "csv":
        source = f"CSV:{source}"
    result = gdal("ogr2ogr", "-f", "GPKG", str(target), source, *extra)
    assert "Warning" not in result.stderr, result.stderr
    count = gdal("ogrinfo", "-ro", "-so", "-al", str(target)).stdout
    assert f"Feature Count: {len(seeded_events)}" in count


def test_ogr_where_on_a_listed_property_is_filtered_by_the_server(
    seeded_url: str, seeded_events: list[dict[str, object]], tmp_path: Path
) -> None:
    """GDAL's OAPIF driver sends `-where` equality on a property the API document lists as a
    query parameter of the items (GDAL 3.6 sends no CQL2): the server filters, and the access
    log shows what GDAL asked for."""
    log = tmp_path / "access.log"
    with live_server(seeded_url, access_log=log) as base:
        read = ogr_features(f"OAPIF:{base}", "events", "-where", "event_type = 'shelling'")
    expected = sorted(
        str(f["properties"]["title"])  # type: ignore[index]
        for f in seeded_events
        if f["properties"]["event_type"] == "shelling"  # type: ignore[index]
    )
    assert sorted(str(f["properties"]["title"]) for f in read) == expected  # type: ignore[index]
    assert expected  # not vacuous
    items = [line for line in log.read_text().splitlines() if "/collections/events/items?" in line]
    # The first request reads a sample for the layer's schema, unfiltered.
    pages = [line for line in items if "items?limit=10 HTTP" not in line]
    assert pages and all("event_type=shelling" in line for line in pages), items
