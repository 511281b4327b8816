"""geopandas (through pyogrio's own GDAL) as an analyst uses it: the events collection read
into a GeoDataFrame over OGC API – Features, and read again filtered by a box and an
attribute, which the server, not the client, applies."""

import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import event_properties, live_server

geopandas = pytest.importorskip("geopandas")
BOX = (35.0, 50.8, 35.8, 51.3)


def _server_titles(base: str, query: str) -> list[str]:
    return sorted(p["title"] for p in event_properties(base, query))


def test_geopandas_reads_and_filters_on_the_server(seeded_url: str, tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    with live_server(seeded_url, access_log=log) as base:
        every = geopandas.read_file(f"OAPIF:{base}", layer="events", engine="pyogrio")
        chosen = geopandas.read_file(f"OAPIF:{base}", layer="events", engine="pyogrio",
                                     bbox=BOX, where="event_type = 'ground_operation'")  # fmt: skip
        expected = _server_titles(
            base, f"bbox={','.join(map(str, BOX))}&event_type=ground_operation"
        )
        all_titles = _server_titles(base, "")
    assert every.crs.to_string() == "OGC:CRS84"  # longitude, latitude
    assert sorted(every["title"]) == all_titles
    assert {"verification", "occurred_at", "place_name"} <= set(every.columns)
    assert sorted(chosen["title"]) == expected and expected
    assert (chosen["event_type"] == "ground_operation").all()
    lines = [urllib.parse.unquote(line) for line in log.read_text().splitlines()]
    filtered = [line for line in lines if "/collections/events/items?" in line and "bbox=" in line]
    # The box and the attribute went to the server (as parameters, or as one CQL2 filter).
    assert filtered and all("event_type=ground_operation" in line or "filter=" in line
                            for line in filtered), filtered  # fmt: skip
