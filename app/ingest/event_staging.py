"""Staging and merging an event import: COPY into temp tables, then set-based SQL.

Rows are COPYed in chunks (flat memory), places are resolved by name near the row's point or
created, and the merge keyed by `(dataset, external_id)` inserts new rows, updates changed
ones (a new version and a revision) and leaves identical ones alone.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.names import fold_name
from app.ingest.event_rows import ImportRow, RowError
from app.ingest.places import slugify
from app.store.revisions import record_changed_revisions
from app.store.verification import DERIVED_VERIFICATION

CHUNK_ROWS = 5_000
MAX_REPORTED = 1_000  # rejected rows listed in a report; the count is always exact
NEAR_METRES = 25_000  # how far a named place may be from the row's point to be "it"


@dataclass
class ImportReport:
    format: str
    dataset: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Events that records of this dataset were merged into, changed because those records were.
    survivors_updated: int = 0
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    written: bool = False
    # Secondary values that did not parse and were kept as text (the row was imported).
    warning_count: int = 0
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def reject(self, line: int, column: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append({"line": line, "column": column, "reason": reason})

    def warn(self, line: int, column: str, reason: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_REPORTED:
            self.warnings.append({"line": line, "column": column, "reason": reason})


STAGE_TABLES = """
CREATE TEMP TABLE import_events (
    line int, external_id text, title text, description text, event_type text,
    sub_event_type text, actors text[], fatalities int, occurred_at timestamptz,
    occurred_until timestamptz, time_precision text, location_precision text,
    verification text, explicit boolean, tags text[], lon float8, lat float8, place_id bigint
) ON COMMIT DROP;
CREATE TEMP TABLE import_citations (
    external_id text, source_slug text, source_name text, source_kind text, url text,
    published_at timestamptz, stance text, excerpt text, line int
) ON COMMIT DROP;
CREATE TEMP TABLE import_changed (id bigint PRIMARY KEY, inserted boolean) ON COMMIT DROP;
CREATE TEMP TABLE import_new_citations (id bigint) ON COMMIT DROP;
SET LOCAL statement_timeout = 0
"""
_DUPLICATES = """
SELECT external_id, min(line) AS first, array_agg(line ORDER BY line) AS lines
FROM import_events GROUP BY external_id HAVING count(*) > 1 ORDER BY first LIMIT 1000
"""
# One row per id stays, the first or (--last-wins) the last; the others' citations go too.
_DROP_DUPLICATES = """
DELETE FROM import_events a USING import_events b
WHERE a.external_id = b.external_id AND a.line {} b.line
"""
_DROP_THEIR_CITATIONS = """
DELETE FROM import_citations c WHERE NOT EXISTS (SELECT FROM import_events e WHERE e.line = c.line)
"""
_SOURCES = """
INSERT INTO sources (slug, name, kind)
SELECT DISTINCT ON (source_slug) source_slug, source_name, source_kind FROM import_citations
ORDER BY source_slug
ON CONFLICT (slug) DO NOTHING
"""
_FIELDS = ("title, description, event_type, sub_event_type, actors, fatalities, occurred_at, "
           "occurred_until, time_precision, place_id, geom, location_precision, tags")  # fmt: skip
_MERGE = f"""
WITH merged AS (
    INSERT INTO events AS e (dataset, external_id, {_FIELDS}, verification,
                             verification_explicit)
    SELECT :dataset, s.external_id, s.title, s.description, s.event_type, s.sub_event_type,
           s.actors, s.fatalities, s.occurred_at, s.occurred_until, s.time_precision,
           s.place_id,
           -- a row without a point (a named oblast) takes its place's point
           COALESCE(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
                    (SELECT geom FROM places WHERE id = s.place_id)),
           s.location_precision,
           s.tags, COALESCE(s.verification, 'unverified'), s.explicit
    FROM import_events s
    ORDER BY s.external_id  -- one lock order, so concurrent imports never deadlock
    ON CONFLICT (dataset, external_id) DO UPDATE SET
        ({_FIELDS}, verification, verification_explicit) =
        (EXCLUDED.title, EXCLUDED.description, EXCLUDED.event_type, EXCLUDED.sub_event_type,
         EXCLUDED.actors, EXCLUDED.fatalities, EXCLUDED.occurred_at, EXCLUDED.occurred_until,
         EXCLUDED.time_precision, EXCLUDED.place_id, EXCLUDED.geom, EXCLUDED.location_precision,
         EXCLUDED.tags,
         CASE WHEN EXCLUDED.verification_explicit THEN EXCLUDED.verification
              ELSE e.verification END,
         EXCLUDED.verification_explicit),
        version = e.version + 1, updated_at = now()
    WHERE e.deleted_at IS NULL AND (
        (e.title, e.description, e.event_type, e.sub_event_type, e.actors, e.fatalities,
         e.occurred_at, e.occurred_until, e.time_precision, e.place_id, e.location_precision,
         e.tags, e.verification_explicit)
        IS DISTINCT FROM
        (EXCLUDED.title, EXCLUDED.description, EXCLUDED.event_type, EXCLUDED.sub_event_type,
         EXCLUDED.actors, EXCLUDED.fatalities, EXCLUDED.occurred_at, EXCLUDED.occurred_until,
         EXCLUDED.time_precision, EXCLUDED.place_id, EXCLUDED.location_precision, EXCLUDED.tags,
         EXCLUDED.verification_explicit)
        OR NOT ST_Equals(e.geom, EXCLUDED.geom)
        OR (EXCLUDED.verification_explicit AND e.verification <> EXCLUDED.verification))
    RETURNING e.id, (xmax = 0) AS inserted
)
INSERT INTO import_changed SELECT id, inserted FROM merged
"""
# New citations (NULL URLs compare equal here, unlike in the unique index).
_CITE = """
WITH added AS (
    INSERT INTO event_sources (event_id, source_id, url, published_at, stance, excerpt)
    SELECT DISTINCT ON (e.id, src.id, c.url, c.stance) e.id, src.id, c.url, c.published_at,
           c.stance, c.excerpt
    FROM import_citations c
    JOIN events e ON e.dataset = :dataset AND e.external_id = c.external_id
    JOIN sources src ON src.slug = c.source_slug
    WHERE (e.deleted_at IS NULL OR e.merged_into IS NOT NULL) AND NOT EXISTS (
        SELECT 1 FROM event_sources x WHERE x.event_id = e.id AND x.source_id = src.id
          AND x.url IS NOT DISTINCT FROM c.url AND x.stance = c.stance)
    ORDER BY e.id, src.id, c.url, c.stance
    RETURNING id, event_id
), noted AS (
    INSERT INTO import_new_citations SELECT id FROM added
), touched AS (
    INSERT INTO import_changed SELECT DISTINCT event_id, false FROM added
    ON CONFLICT (id) DO NOTHING RETURNING id
)
UPDATE events SET version = version + 1, updated_at = now()
WHERE id IN (SELECT id FROM touched)
"""
# A record merged into another event (app.services.merges) is still its dataset's: what the
# dataset changes in it since its last import is changed on the survivor (the fields it
# changed only; actors and tags are added), then the record itself takes the new values.
_CHANGED = " OR ".join(f"s.{f} IS DISTINCT FROM t.{f}" for f in _FIELDS.split(", ") if f != "geom")
_FOLLOW_MERGED = f"""
WITH staged AS (
    SELECT s.*, COALESCE(ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326),
                         (SELECT geom FROM places WHERE id = s.place_id)) AS geom
    FROM import_events s
), moved AS (
    SELECT DISTINCT ON (event_survivor(t.id)) event_survivor(t.id) AS survivor, s.*,
           t.title AS was_title, t.description AS was_description,
           t.event_type AS was_event_type, t.sub_event_type AS was_sub_event_type,
           t.fatalities AS was_fatalities, t.occurred_at AS was_occurred_at,
           t.occurred_until AS was_occurred_until, t.time_precision AS was_time_precision,
           t.place_id AS was_place_id, t.geom AS was_geom,
           t.location_precision AS was_location_precision
    FROM staged s JOIN events t ON t.dataset = :dataset AND t.external_id = s.external_id
    WHERE t.merged_into IS NOT NULL AND ({_CHANGED} OR NOT ST_Equals(s.geom, t.geom))
    ORDER BY event_survivor(t.id), s.line DESC
), followed AS (
    UPDATE events v SET {
    ", ".join(
        f"{f} = CASE WHEN m.{f} IS DISTINCT FROM m.was_{f} THEN m.{f} ELSE v.{f} END"
        for f in _FIELDS.split(", ")
        if f not in ("geom", "actors", "tags")
    )
},
        geom = CASE WHEN ST_Equals(m.geom, m.was_geom) THEN v.geom ELSE m.geom END,
        actors = v.actors || ARRAY(SELECT a FROM unnest(m.actors) a WHERE a <> ALL(v.actors)),
        tags = v.tags || ARRAY(SELECT g FROM unnest(m.tags) g WHERE g <> ALL(v.tags)),
        version = v.version + 1, updated_at = now()
    FROM moved m WHERE v.id = m.survivor AND v.deleted_at IS NULL
    RETURNING v.id
), records AS (
    UPDATE events t SET ({_FIELDS}) = (s.title, s.description, s.event_type, s.sub_event_type,
        s.actors, s.fatalities, s.occurred_at, s.occurred_until, s.time_precision, s.place_id,
        s.geom, s.location_precision, s.tags), version = t.version + 1, updated_at = now()
    FROM staged s
    WHERE t.dataset = :dataset AND t.external_id = s.external_id AND t.merged_into IS NOT NULL
      AND ({_CHANGED} OR NOT ST_Equals(s.geom, t.geom))
    RETURNING t.id
)
-- A survivor is listed without `inserted`: the report counts it apart from the dataset's rows.
INSERT INTO import_changed SELECT id, NULL FROM followed UNION SELECT id, false FROM records
ON CONFLICT (id) DO NOTHING
"""
# A citation a dataset adds to a merged record is copied up its chain of survivors, each copy
# naming the event below it, so each unmerge takes away exactly its own.
_COPY_UP = """
WITH RECURSIVE up(citation, child, parent) AS (
    SELECT es.id, e.id, e.merged_into
    FROM import_new_citations n JOIN event_sources es ON es.id = n.id
    JOIN events e ON e.id = es.event_id WHERE e.merged_into IS NOT NULL
    UNION ALL
    SELECT u.citation, p.id, p.merged_into FROM up u JOIN events p ON p.id = u.parent
    WHERE p.merged_into IS NOT NULL
), copied AS (
    INSERT INTO event_sources (event_id, source_id, url, published_at, stance, excerpt,
                               merged_from)
    SELECT u.parent, es.source_id, es.url, es.published_at, es.stance, es.excerpt, u.child
    FROM up u JOIN event_sources es ON es.id = u.citation
    ORDER BY u.parent, es.id
    ON CONFLICT (event_id, source_id, url) DO NOTHING
    RETURNING event_id
), touched AS (
    INSERT INTO import_changed SELECT DISTINCT event_id, false FROM copied
    ON CONFLICT (id) DO NOTHING RETURNING id
)
UPDATE events SET version = version + 1, updated_at = now()
WHERE id IN (SELECT id FROM touched)
"""
# Only rows whose status changes: every event update rebuilds its Feature text (0009).
_DERIVE = f"""
UPDATE events e SET verification = {DERIVED_VERIFICATION}
FROM import_changed c WHERE c.id = e.id AND NOT e.verification_explicit
  AND e.verification IS DISTINCT FROM {DERIVED_VERIFICATION}
"""
_COUNTS = (
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted), "
    "count(*) FILTER (WHERE inserted IS NULL) FROM import_changed"
)
_FIND_PLACE = text(
    """
    SELECT p.id FROM place_names n JOIN places p ON p.id = n.place_id
    WHERE n.name_key = :key AND (CAST(:near AS boolean) IS FALSE OR ST_DWithin(
        p.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres))
    ORDER BY p.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), p.id LIMIT 1
    """
)
_NEW_PLACE = text(
    """
    WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
    parent AS (
        SELECT r.id, r.country_code FROM places r, pt
        WHERE r.boundary IS NOT NULL AND ST_Contains(r.boundary, pt.geom)
        ORDER BY ST_Area(r.boundary) LIMIT 1
    )
    INSERT INTO places (slug, name, kind, country_code, parent_id, geom)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM places WHERE slug = :slug)
                THEN :slug || '-' || (SELECT count(*) + 1 FROM places WHERE slug LIKE :slug || '-%')
                ELSE :slug END,
           :name, 'settlement', (SELECT country_code FROM parent), (SELECT id FROM parent), pt.geom
    FROM pt
    RETURNING id
    """
)
_NEW_NAME = text(
    "INSERT INTO place_names (place_id, name, lang, name_key) VALUES (:id, :name, 'und', :key)"
)
POINT_PRECISIONS = {"exact", "near", "settlement"}


class Importer:
    """One import: a connection in a transaction, a place cache and the report."""

    def __init__(self, conn: AsyncConnection, report: ImportReport) -> None:
        self.conn, self.report = conn, report
        self.places: dict[tuple[str, int | None, int | None], int | None] = {}
        self.events: list[tuple[Any, ...]] = []
        self.citations: list[tuple[Any, ...]] = []

    async def place_id(self, row: ImportRow) -> int | None:
        """The named place near the row's point, or a new settlement there."""
        if row.place_name is None or not (key := fold_name(row.place_name)):
            return None
        if row.event.geometry is None:
            return await self._named_place(row.place_name, key)
        lon, lat = row.event.geometry.coordinates[:2]
        near = row.event.location_precision.value in POINT_PRECISIONS
        cache_key = (key, round(lon * 100), round(lat * 100)) if near else (key, 0, 0)
        if cache_key in self.places:
            return self.places[cache_key]
        params = {"key": key, "near": near, "lon": lon, "lat": lat, "metres": NEAR_METRES}
        found = (await self.conn.execute(_FIND_PLACE, params)).scalar()
        if found is None and near:
            new = {"slug": slugify(row.place_name), "name": row.place_name, "lon": lon, "lat": lat}
            found = (await self.conn.execute(_NEW_PLACE, new)).scalar_one()
            await self.conn.execute(_NEW_NAME, {"id": found, "name": row.place_name, "key": key})
        self.places[cache_key] = found
        return int(found) if found is not None else None

    async def _named_place(self, name: str, key: str) -> int:
        """A row without a point takes the place it names (and that place's point)."""
        if (key, None, None) not in self.places:
            params = {"key": key, "near": False, "lon": 0.0, "lat": 0.0, "metres": 0}
            self.places[(key, None, None)] = (await self.conn.execute(_FIND_PLACE, params)).scalar()
        found = self.places[(key, None, None)]
        if found is None:
            raise RowError("place", f"no place is called {name!r} and the row has no point")
        return int(found)

    async def add(self, line: int, row: ImportRow) -> None:
        event = row.event
        lon, lat = event.geometry.coordinates[:2] if event.geometry else (None, None)
        self.events.append((
            line, row.external_id, event.title, event.description, event.event_type.value,
            event.sub_event_type, event.actors, event.fatalities, event.occurred_at,
            event.occurred_until, event.time_precision.value, event.location_precision.value,
            event.verification.value if event.verification else None,
            event.verification is not None, event.tags, lon, lat, await self.place_id(row),
        ))  # fmt: skip
        for c in row.citations:
            if c.warning is not None:
                self.report.warn(line, *c.warning)
            self.citations.append((row.external_id, slugify(c.source), c.source[:500], c.kind,
                                   c.url, c.published_at, c.stance, c.excerpt, line))  # fmt: skip
        if len(self.events) >= CHUNK_ROWS:
            await self.flush()

    async def flush(self) -> None:
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("import_events", records=self.events)
        await raw.copy_records_to_table("import_citations", records=self.citations)
        self.events, self.citations = [], []

    async def duplicates(self, partial: bool, last_wins: bool = False) -> None:
        """Rows that repeat an id: the later ones rejected (kept out with ``partial``), or,
        with ``last_wins``, the earlier ones replaced by the last (a warning each)."""
        for row in (await self.conn.execute(text(_DUPLICATES))).all():
            if last_wins:
                replaced = f"replaced by line {row.lines[-1]} ({row.external_id!r})"
                for line in row.lines[:-1]:
                    self.report.warn(line, "external_id", replaced)
            else:
                for line in row.lines[1:]:
                    reason = f"duplicate of line {row.first} ({row.external_id!r})"
                    self.report.reject(line, "external_id", reason)
        if partial or last_wins:
            await self.conn.execute(text(_DROP_DUPLICATES.format("<" if last_wins else ">")))
            await self.conn.execute(text(_DROP_THEIR_CITATIONS))

    async def merge(self, dataset: str, who: str) -> None:
        params = {"dataset": dataset}
        await self.conn.execute(text(_SOURCES))
        await self.conn.execute(text(_MERGE), params)
        await self.conn.execute(text(_FOLLOW_MERGED), params)
        await self.conn.execute(text(_CITE), params)
        await self.conn.execute(text(_COPY_UP))
        await self.conn.execute(text(_DERIVE))
        await record_changed_revisions(self.conn, who)
        inserted, updated, survivors = (await self.conn.execute(text(_COUNTS))).one()
        self.report.inserted, self.report.updated = int(inserted), int(updated)
        self.report.survivors_updated = int(survivors)
