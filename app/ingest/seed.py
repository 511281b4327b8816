"""`frontline seed`: load the founding gazetteer and events idempotently.

Places and sources are reference data: re-seeding updates them only when the files changed.
Events are inserted once and never overwritten, so an analyst's later edits survive; their
history is replayed from their citations' publication times.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.names import fold_name
from app.domain.provenance import Cited, derive_verification
from app.domain.vocab import Operation
from app.settings import REPO_ROOT
from app.store.revisions import record_revision

SEEDS_DIR = REPO_ROOT / "seeds"
SEED_DATASET = "frontline-seeds"
SEED_USER = "seed"


@dataclass(frozen=True)
class SeedCounts:
    places: int
    names: int
    sources: int
    events: int


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def read_places(seeds_dir: Path) -> list[dict[str, Any]]:
    """Places from both files, each with ``boundary`` (GeoJSON) or ``lon``/``lat``."""
    places: list[dict[str, Any]] = list(load_json(seeds_dir / "places.json")["places"])
    for feature in load_json(seeds_dir / "regions.geojson")["features"]:
        places.append({**feature["properties"], "boundary": feature["geometry"]})
    return places


def parents_first(
    places: list[dict[str, Any]], outside_ok: bool = False
) -> Iterator[dict[str, Any]]:
    """Order places so that every parent is inserted before its children.

    A parent missing from ``places`` is an error, unless ``outside_ok`` (it is already stored).
    """
    by_slug = {p["slug"]: p for p in places}
    done: set[str] = set()

    def visit(place: dict[str, Any], trail: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        slug = place["slug"]
        if slug in done:
            return
        if slug in trail:
            raise ValueError(f"place hierarchy loops through {slug}")
        parent = place.get("parent")
        if parent:
            if parent in by_slug:
                yield from visit(by_slug[parent], (*trail, slug))
            elif not outside_ok:
                raise ValueError(f"{slug}: unknown parent {parent}")
        done.add(slug)
        yield place

    for place in places:
        yield from visit(place, ())


_UPSERT_PLACE = text(
    """
    WITH v AS (
        SELECT :slug AS slug, :name AS name, :kind AS kind, :country_code AS country_code,
               (SELECT id FROM places WHERE slug = :parent) AS parent_id,
               CAST(:geonames_id AS bigint) AS geonames_id, :iso_code AS iso_code,
               CAST(:population AS bigint) AS population,
               ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:boundary), 4326)) AS boundary,
               CAST(:lon AS float8) AS lon, CAST(:lat AS float8) AS lat
    ), g AS (
        SELECT v.*, COALESCE(ST_SetSRID(ST_MakePoint(lon, lat), 4326),
                             ST_PointOnSurface(boundary)) AS geom FROM v
    )
    INSERT INTO places AS p (slug, name, kind, country_code, parent_id, geonames_id, iso_code,
                             population, boundary, geom)
    SELECT slug, name, kind, country_code, parent_id, geonames_id, iso_code, population,
           boundary, geom FROM g
    ON CONFLICT (slug) DO UPDATE SET
        name = EXCLUDED.name, kind = EXCLUDED.kind, country_code = EXCLUDED.country_code,
        parent_id = EXCLUDED.parent_id, geonames_id = EXCLUDED.geonames_id,
        iso_code = EXCLUDED.iso_code, population = EXCLUDED.population,
        boundary = EXCLUDED.boundary, geom = EXCLUDED.geom, updated_at = now()
    WHERE (p.name, p.kind, p.country_code, p.parent_id, p.geonames_id, p.iso_code,
           p.population) IS DISTINCT FROM
          (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.country_code, EXCLUDED.parent_id,
           EXCLUDED.geonames_id, EXCLUDED.iso_code, EXCLUDED.population)
       OR NOT ST_Equals(p.geom, EXCLUDED.geom)
       OR (p.boundary IS NULL) <> (EXCLUDED.boundary IS NULL)
       OR NOT ST_OrderingEquals(COALESCE(p.boundary, p.geom), COALESCE(EXCLUDED.boundary,
                                                                          EXCLUDED.geom))
    RETURNING id
    """
)
_INSERT_NAME = text(
    """
    INSERT INTO place_names (place_id, name, lang, name_key)
    SELECT id, :name, :lang, :name_key FROM places WHERE slug = :slug
    ON CONFLICT (place_id, name, lang) DO NOTHING
    RETURNING id
    """
)


async def upsert_place(conn: AsyncConnection, place: dict[str, Any]) -> tuple[int, int]:
    """Insert or refresh one place and its names; returns (places changed, names added)."""
    boundary = place.get("boundary")
    params = {
        "slug": place["slug"],
        "name": place["name"],
        "kind": place["kind"],
        "country_code": place.get("country_code"),
        "parent": place.get("parent"),
        "geonames_id": place.get("geonames_id"),
        "iso_code": place.get("iso_code"),
        "population": place.get("population"),
        "boundary": json.dumps(boundary) if boundary else None,
        "lon": place.get("lon"),
        "lat": place.get("lat"),
    }
    changed = len((await conn.execute(_UPSERT_PLACE, params)).all())
    added = 0
    names = [{"name": place["name"], "lang": "en"}, *place.get("names", [])]
    for entry in names:
        result = await conn.execute(
            _INSERT_NAME,
            {
                "slug": place["slug"],
                "name": entry["name"],
                "lang": entry["lang"],
                "name_key": fold_name(entry["name"]),
            },
        )
        added += len(result.all())
    return changed, added


_UPSERT_SOURCE = text(
    """
    INSERT INTO sources AS s (slug, name, kind, country_code, url)
    VALUES (:slug, :name, :kind, :country_code, :url)
    ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,
        country_code = EXCLUDED.country_code, url = EXCLUDED.url
    WHERE (s.name, s.kind, s.country_code, s.url) IS DISTINCT FROM
          (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.country_code, EXCLUDED.url)
    RETURNING id
    """
)
_INSERT_EVENT = text(
    """
    INSERT INTO events (dataset, external_id, title, description, event_type, actors,
                        fatalities, occurred_at, occurred_until, time_precision, place_id, geom,
                        location_precision, verification, verification_explicit, tags,
                        created_at, updated_at)
    SELECT :dataset, :external_id, :title, :description, :event_type, :actors, :fatalities,
           :occurred_at, :occurred_until, :time_precision, p.id,
           COALESCE(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                    p.geom),
           :location_precision, :verification, :explicit, :tags, :known_at, :known_at
    FROM places p WHERE p.slug = :place
    ON CONFLICT (dataset, external_id) DO NOTHING
    RETURNING id
    """
)
# A later report about an event: a new version, known from the report's publication time.
_LATER_REPORT = text(
    """
    UPDATE events SET version = version + 1, updated_at = :known_at,
                      verification = CASE WHEN verification_explicit THEN verification
                                          ELSE :verification END
    WHERE id = :id
    """
)
_INSERT_CITATION = text(
    """
    INSERT INTO event_sources (event_id, source_id, url, published_at, stance, excerpt)
    SELECT :event_id, s.id, :url, CAST(:published_at AS timestamptz), :stance, :excerpt
    FROM sources s WHERE s.slug = :source
    """
)


def _instant(value: str | None) -> datetime | None:
    """RFC 3339 text from a seed file as an aware datetime (asyncpg binds no strings here)."""
    return datetime.fromisoformat(value) if value else None


async def insert_event(conn: AsyncConnection, event: dict[str, Any], kinds: dict[str, str]) -> int:
    """Insert a seed event as its story unfolded; 0 when it already exists.

    The event is created when its first report was published, with that citation; each later
    report adds its citation as a new revision dated by its publication, and the derived
    verification moves with it (unless the seed states a status the rule would not derive).
    ``kinds`` is each source's kind, by slug.
    """
    citations = sorted(event.get("citations", []), key=lambda c: c["published_at"])
    stated = event["verification"]
    cited = [Cited(c["stance"], c["source"], kinds[c["source"]]) for c in citations]
    steps = [derive_verification(cited[: i + 1]) for i in range(len(cited))]
    explicit = not steps or steps[-1] != stated
    first_known = _instant(citations[0]["published_at"]) if citations else None
    params = {
        "dataset": SEED_DATASET, "description": None, "actors": [], "fatalities": None,
        "lon": None, "lat": None, "tags": [],
        **{k: v for k, v in event.items() if k != "citations"},
        "occurred_at": _instant(event["occurred_at"]),
        "occurred_until": _instant(event.get("occurred_until")),
        "verification": stated if explicit else steps[0].value,
        "explicit": explicit,
        "known_at": first_known or _instant(event["occurred_at"]),
    }  # fmt: skip
    row = (await conn.execute(_INSERT_EVENT, params)).first()
    if row is None:
        return 0
    for index, citation in enumerate(citations):
        published = _instant(citation["published_at"])
        cite = {"event_id": row.id, "excerpt": None, **citation, "published_at": published}
        await conn.execute(_INSERT_CITATION, cite)
        if index > 0:
            later = {"id": row.id, "known_at": published, "verification": steps[index].value}
            await conn.execute(_LATER_REPORT, later)
        operation = Operation.CREATE if index == 0 else Operation.UPDATE
        await record_revision(conn, row.id, operation, SEED_USER)
    if not citations:
        await record_revision(conn, row.id, Operation.CREATE, SEED_USER)
    return 1


async def seed(engine: AsyncEngine, seeds_dir: Path = SEEDS_DIR) -> SeedCounts:
    """Load every seed file in one transaction."""
    places = list(parents_first(read_places(seeds_dir)))
    event_file = load_json(seeds_dir / "events.json")
    async with engine.begin() as conn:
        place_changes = name_adds = 0
        for place in places:
            changed, added = await upsert_place(conn, place)
            place_changes, name_adds = place_changes + changed, name_adds + added
        source_changes = 0
        for source in event_file["sources"]:
            params = {"country_code": None, "url": None, **source}
            source_changes += len((await conn.execute(_UPSERT_SOURCE, params)).all())
        event_adds = 0
        kinds = {source["slug"]: source["kind"] for source in event_file["sources"]}
        for event in event_file["events"]:
            event_adds += await insert_event(conn, event, kinds)
    return SeedCounts(place_changes, name_adds, source_changes, event_adds)
