"""Seeds: they load, they are idempotent, and they tell the founding reports truthfully."""

import asyncio

from app.ingest.seed import SEEDS_DIR, SeedCounts, read_places, seed
from app.store.engine import make_engine
from tests.conftest import client_for, dump_tables, settings_for


async def _seed(url: str) -> SeedCounts:
    engine = make_engine(url, settings_for(url))
    try:
        return await seed(engine)
    finally:
        await engine.dispose()


def test_seeding_twice_changes_nothing(fresh_url: str) -> None:
    first = asyncio.run(_seed(fresh_url))
    before = dump_tables(fresh_url)
    assert first.places > 0 and first.events > 0 and first.sources > 0
    second = asyncio.run(_seed(fresh_url))
    after = dump_tables(fresh_url)
    assert second == SeedCounts(places=0, names=0, sources=0, events=0)
    assert after == before


def test_every_seeded_event_has_a_source_and_a_revision(seeded_url: str) -> None:
    with client_for(seeded_url) as client:
        features = client.get("/events", params={"limit": "10000"}).json()["features"]
        assert features
        for feature in features:
            assert feature["properties"]["source_count"] >= 1, feature["properties"]["title"]
            full = client.get(f"/events/{feature['id']}").json()
            assert all(c["url"] and c["stance"] for c in full["properties"]["citations"])


def test_every_seeded_place_is_served_with_its_spellings(seeded_url: str) -> None:
    places = read_places(SEEDS_DIR)
    with client_for(seeded_url) as client:
        for place in places:
            response = client.get(f"/places/{place['slug']}")
            assert response.status_code == 200, place["slug"]
            names = {n["name"] for n in response.json()["properties"]["names"]}
            assert {n["name"] for n in place.get("names", [])} <= names
