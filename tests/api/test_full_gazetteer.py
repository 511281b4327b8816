"""The full gazetteer `frontline seed` loads by default: every UA/RU region and the GeoNames
settlements, merged with the founding places, idempotent, and used by imports."""

import asyncio
from pathlib import Path

from app.ingest.gazetteer import GazetteerCounts, load_gazetteer
from app.ingest.places import ImportCounts
from app.ingest.seed import seed
from app.store.engine import make_engine
from tests.api.test_imports import ACLED, acled_csv, run_import, write
from tests.conftest import client_for, execute, settings_for


def load(url: str, founding: bool = True) -> GazetteerCounts:
    async def run() -> GazetteerCounts:
        engine = make_engine(url, settings_for(url))
        try:
            if founding:
                await seed(engine)
            return await load_gazetteer(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def count(url: str, sql: str) -> int:
    [(n,)] = execute(url, sql) or []
    return int(n)


def test_every_region_and_settlement_once(fresh_url: str) -> None:
    first = load(fresh_url)
    # 27 Ukrainian and 83 Russian regions; the 10 the founding seeds hold keep their record.
    regions = count(fresh_url, "SELECT count(*) FROM places WHERE kind = 'region'")
    assert (first.regions, regions) == (100, 110)
    assert first.settlements.places > 3000
    again = load(fresh_url, founding=False)
    assert again == GazetteerCounts(0, 0, ImportCounts(0, 0, again.settlements.skipped))
    # The founding Sudzha (GeoNames 486816) is not added twice.
    assert count(fresh_url, "SELECT count(*) FROM places WHERE name = 'Sudzha'") == 1
    orphans = "SELECT count(*) FROM places WHERE kind = 'settlement' AND parent_id IS NULL"
    assert count(fresh_url, orphans) < 10  # border slivers aside, every settlement has a region


def test_regions_answer_to_the_names_tables_use(fresh_url: str) -> None:
    load(fresh_url)
    with client_for(fresh_url) as client:
        for spelling, slug in (("Sumska oblast", "sumy-oblast"),
                               ("Odeska oblast", "odesa-oblast"),
                               ("Одеська область", "odesa-oblast"),
                               ("Odessa Oblast", "odesa-oblast"),
                               ("Voronezh Oblast", "voronezh-oblast"),
                               ("Kyivska oblast", "kyiv-oblast")):  # fmt: skip
            hits = client.get("/places/search", params={"q": spelling, "kind": "region"}).json()
            assert hits["features"][0]["properties"]["slug"] == slug, spelling
        page = client.get("/events", params={"within": "Odeska oblast"})
        assert page.status_code == 200, page.text


def test_imports_resolve_to_known_settlements(fresh_url: str, tmp_path: Path) -> None:
    """A row at Shebekino (GeoNames, not a founding place) is tied to it, not to a new one."""
    load(fresh_url)
    places = count(fresh_url, "SELECT count(*) FROM places")
    row = [*ACLED[0][:6], "Belgorod", "Shebekino", "50.40", "36.89", *ACLED[0][10:]]
    assert run_import(fresh_url, write(tmp_path, "a.csv", acled_csv([row]))).inserted == 1
    assert count(fresh_url, "SELECT count(*) FROM places") == places
    assert execute(fresh_url, "SELECT p.geonames_id FROM events e JOIN places p "
                   "ON p.id = e.place_id WHERE e.dataset = 'acled'") == [(495112,)]  # fmt: skip
