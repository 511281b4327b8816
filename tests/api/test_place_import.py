"""`frontline places import`: GeoNames tables and GeoJSON, idempotent, all or nothing."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from app.ingest.places import ImportCounts, PlaceImportError, import_places, slugify
from app.ingest.seed import seed
from app.store.engine import make_engine
from tests.conftest import client_for, settings_for


def geoname(gid: int, name: str, lat: float, lon: float, cc: str, pop: int, alt: str = "") -> str:
    fields = [str(gid), name, name, alt, str(lat), str(lon), "P", "PPL", cc, "", "", "", "", "",
              str(pop), "", "150", "Europe/Moscow", "2023-01-01"]  # fmt: skip
    return "\t".join(fields)


CITIES = [
    geoname(486816, "Sudzha", 51.1976, 35.2726, "RU", 6940, "Sudzha,Суджа"),
    geoname(695019, "Ryl’sk", 51.5655, 34.6822, "RU", 17007, "Rylsk,Рыльск,Рильськ"),
    geoname(712559, "Bilopillia", 51.15016, 34.31287, "UA", 15850, "Belopol'e,Білопілля,Белополье"),
    geoname(999000001, "Sumy", 50.9, 34.8, "UA", 0, ""),
]


async def _run(url: str, path: Path, with_seed: bool = True) -> ImportCounts:
    engine = make_engine(url, settings_for(url))
    try:
        if with_seed:
            await seed(engine)
        return await import_places(engine, path)
    finally:
        await engine.dispose()


async def _dump(url: str) -> list[str]:
    engine = make_engine(url, settings_for(url))
    try:
        async with engine.connect() as conn:
            dump = text(
                "SELECT to_jsonb(p) - 'updated_at' - 'created_at' FROM places p UNION ALL "
                "SELECT to_jsonb(n) FROM place_names n"
            )
            rows = await conn.execute(dump)
            return sorted(json.dumps(r, sort_keys=True) for r in rows.scalars())
    finally:
        await engine.dispose()


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_geonames_import_adds_places_with_parents_and_spellings(
    fresh_url: str, tmp_path: Path
) -> None:
    counts = asyncio.run(_run(fresh_url, write(tmp_path, "cities.txt", CITIES)))
    assert counts.places == 3  # Sudzha was already there, unchanged
    with client_for(fresh_url) as client:
        rylsk = client.get("/places/search", params={"q": "Рыльск"}).json()["features"][0]
        assert rylsk["properties"]["admin_path"] == "Ryl’sk, Kursk Oblast, Russia"
        hit = client.get("/places/search", params={"q": "Білопілля"}).json()["features"][0]
        assert hit["properties"]["admin_path"] == "Bilopillia, Sumy Oblast, Ukraine"
        # A second "Sumy" gets its own slug; the seeded one keeps it.
        assert client.get("/places/sumy-999000001").json()["properties"]["name"] == "Sumy"
        assert client.get("/places/sumy").json()["properties"]["geonames_id"] == 692194
        sudzha = client.get("/places/sudzha").json()["properties"]
        assert sudzha["parent_slug"] == "sudzhansky-district"  # never re-parented


def test_importing_twice_changes_nothing(fresh_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "cities.txt", CITIES)
    asyncio.run(_run(fresh_url, path))
    before = asyncio.run(_dump(fresh_url))
    assert asyncio.run(_run(fresh_url, path)) == ImportCounts(0, 0, 0)
    assert asyncio.run(_dump(fresh_url)) == before


def test_a_bad_line_names_itself_and_nothing_is_written(fresh_url: str, tmp_path: Path) -> None:
    asyncio.run(_run(fresh_url, write(tmp_path, "empty.txt", CITIES[:1])))
    before = asyncio.run(_dump(fresh_url))
    bad = [*CITIES[:3], geoname(1, "Nowhere", 95.0, 30.0, "UA", 1)]
    with pytest.raises(PlaceImportError, match=r"^line 4: latitude 95.0 is outside \[-90, 90\]$"):
        asyncio.run(_run(fresh_url, write(tmp_path, "bad.txt", bad), with_seed=False))
    assert asyncio.run(_dump(fresh_url)) == before


def test_alternate_names_attach_by_geonames_id(fresh_url: str, tmp_path: Path) -> None:
    asyncio.run(_run(fresh_url, write(tmp_path, "cities.txt", CITIES)))
    alternate = write(tmp_path, "alternateNames.txt", [
        "1\t712559\tde\tBilopillja\t\t\t\t\t\t",
        "2\t712559\tlink\thttps://en.wikipedia.org/wiki/Bilopillia\t\t\t\t\t\t",
        "3\t424242\tru\tГде-то\t\t\t\t\t\t",
    ])  # fmt: skip
    counts = asyncio.run(_run(fresh_url, alternate, with_seed=False))
    assert counts == ImportCounts(places=0, names=1, skipped=1)
    with client_for(fresh_url) as client:
        names = client.get("/places/bilopillia").json()["properties"]["names"]
        assert {"name": "Bilopillja", "lang": "de"} in names
        assert not any(n["name"].startswith("https") for n in names)


def test_geojson_import_and_unknown_parent(fresh_url: str, tmp_path: Path) -> None:
    station = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [35.29, 51.21]},
               "properties": {"name": "Sudzha gas metering station", "kind": "site",
                              "parent": "sudzhansky-district",
                              "names": [{"name": "ГИС Суджа", "lang": "ru"}]}}  # fmt: skip
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [station]}))
    assert asyncio.run(_run(fresh_url, path)).places == 1
    with client_for(fresh_url) as client:
        hit = client.get("/places/search", params={"q": "ГИС Суджа"}).json()["features"][0]
        assert hit["properties"]["slug"] == "sudzha-gas-metering-station"
        assert hit["properties"]["admin_path"] == (
            "Sudzha gas metering station, Sudzhansky District, Kursk Oblast, Russia"
        )
    station["properties"]["parent"] = "atlantis"  # type: ignore[index]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [station]}))
    with pytest.raises(PlaceImportError, match="unknown parent place 'atlantis'"):
        asyncio.run(_run(fresh_url, path, with_seed=False))


def test_cli_reports_and_refuses_unknown_formats(fresh_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": fresh_url}
    junk = write(tmp_path, "notes.txt", ["hello", "world"])
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "places", "import", str(junk)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "frontline places import: notes.txt: not GeoJSON, a GeoNames table or an alternateNames "
        "table; nothing was imported"
    )


@given(st.text(max_size=60))
def test_slugs_always_fit_the_slug_rule(name: str) -> None:
    slug = slugify(name)
    assert slug and len(slug) <= 100
    assert all(part and part.isalnum() and part.isascii() for part in slug.split("-"))
    assert slug == slug.lower()
