"""Data builders for tests: plain dicts in, rows in PostGIS out."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.vocab import EventType, Verification, values


@dataclass(frozen=True)
class EventRow:
    """What the oracle needs to know about an inserted event."""

    id: int
    lon: float
    lat: float
    start: datetime
    end: datetime
    event_type: str
    verification: str
    fatalities: int | None
    actors: tuple[str, ...]


# Two test regions: a triangle over the front line and a two-part multipolygon.
REGIONS = {
    "test-triangle": "MULTIPOLYGON(((34 47, 39 47, 36.5 51.5, 34 47)))",
    "test-islands": "MULTIPOLYGON(((30 50, 31.5 50, 31.5 51.5, 30 51.5, 30 50)),"
    "((37 52, 39.5 52, 39.5 53, 37 53, 37 52)))",
}
_REGION = text(
    """
    INSERT INTO places (slug, name, kind, country_code, geom, boundary)
    VALUES (:slug, :name, 'region', 'UA', ST_PointOnSurface(ST_GeomFromText(:wkt, 4326)),
            ST_GeomFromText(:wkt, 4326))
    """
)


_PLACE = text(
    """
    INSERT INTO places (slug, name, kind, country_code, geom)
    VALUES (:slug, :name, 'settlement', 'UA', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
    ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name
    RETURNING id
    """
)
_EVENT = text(
    """
    INSERT INTO events (dataset, external_id, title, event_type, occurred_at, occurred_until,
                        time_precision, place_id, geom, location_precision, verification,
                        fatalities, actors)
    VALUES ('test', :external_id, :title, :event_type, :occurred_at, :occurred_until,
            'day', :place_id, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'exact',
            :verification, :fatalities, :actors)
    RETURNING id
    """
)


ACTORS = ["Military Forces of Ukraine", "Military Forces of Russia", "Wagner Group",
          "Civilians (Ukraine)"]  # fmt: skip


def random_events(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Events scattered over the front-line area and both sides of the antimeridian."""
    rng = random.Random(seed)
    start = datetime(2022, 2, 24, tzinfo=UTC)
    rows = []
    for i in range(count):
        if rng.random() < 0.1:
            lon, lat = (
                rng.choice([rng.uniform(175, 180), rng.uniform(-180, -175)]),
                rng.uniform(60, 70),
            )
        else:
            lon, lat = round(rng.uniform(30, 40), 3), round(rng.uniform(46, 53), 3)
        began = start + timedelta(minutes=rng.randrange(0, 3 * 365 * 24 * 60))
        span = None if rng.random() < 0.5 else began + timedelta(hours=rng.randrange(0, 24 * 40))
        rows.append(
            {
                "external_id": f"r{i}",
                "title": f"Event {i}",
                "event_type": rng.choice(values(EventType)),
                "verification": rng.choice(values(Verification)),
                "occurred_at": began,
                "occurred_until": span,
                "lon": lon,
                "lat": lat,
                "fatalities": rng.choice([None, 0, 1, 5, 20]),
                "actors": rng.sample(ACTORS, rng.randrange(0, 3)),
            }
        )
    return rows


async def insert_events(engine: AsyncEngine, rows: list[dict[str, Any]]) -> list[EventRow]:
    async with engine.begin() as conn:
        place_id = (
            await conn.execute(
                _PLACE, {"slug": "testville", "name": "Testville", "lon": 35.0, "lat": 50.0}
            )
        ).scalar_one()
        for slug, wkt in REGIONS.items():
            await conn.execute(_REGION, {"slug": slug, "name": slug, "wkt": wkt})
        inserted = []
        for row in rows:
            event_id = (await conn.execute(_EVENT, {"place_id": place_id, **row})).scalar_one()
            inserted.append(
                EventRow(
                    event_id,
                    row["lon"],
                    row["lat"],
                    row["occurred_at"],
                    row["occurred_until"] or row["occurred_at"],
                    row["event_type"],
                    row["verification"],
                    row["fatalities"],
                    tuple(row["actors"]),
                )
            )
    return inserted
