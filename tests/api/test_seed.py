"""Seeds: they load, they are idempotent, and they tell the founding reports truthfully."""

import asyncio
import json

from sqlalchemy import text

from app.db import make_engine
from app.seed import SEEDS_DIR, SeedCounts, read_places, seed
from tests.conftest import client_for, settings_for

TABLES = ("places", "place_names", "sources", "events", "event_sources", "event_revisions")


async def _seed_and_dump(url: str) -> tuple[SeedCounts, dict[str, list[str]]]:
    engine = make_engine(url, settings_for(url))
    try:
        counts = await seed(engine)
        async with engine.connect() as conn:
            dump = {
                table: sorted(
                    json.dumps(row, sort_keys=True, default=str)
                    for row in (
                        await conn.execute(text(f"SELECT to_jsonb(t) FROM {table} t"))
                    ).scalars()
                )
                for table in TABLES
            }
        return counts, dump
    finally:
        await engine.dispose()


def test_seeding_twice_changes_nothing(fresh_url: str) -> None:
    first, before = asyncio.run(_seed_and_dump(fresh_url))
    assert first.places > 0 and first.events > 0 and first.sources > 0
    second, after = asyncio.run(_seed_and_dump(fresh_url))
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
