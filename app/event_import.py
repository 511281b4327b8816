"""Bulk event imports: ACLED-style CSV, UCDP GED-style CSV and GeoJSON, all or nothing.

One pass over the file, in one transaction: each row is mapped to an event and validated
(a bad row is reported with its line, column and reason), good rows are COPYed into a
staging table in chunks (flat memory), places are resolved by name near the row's point or
created, and at the end everything is merged with set-based SQL keyed by
`(dataset, external_id)`: new rows are inserted, changed rows updated (a new version and a
revision), identical rows left alone. Unless `partial` is asked for, one bad row rolls the
whole transaction back, so the database is exactly as before.
"""

import csv
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.bodies import EventUpdate
from app.names import fold_name
from app.place_import import open_text, slugify
from app.repository import execute_script
from app.revisions import record_changed_revisions

CHUNK_ROWS = 5_000
MAX_REPORTED = 1_000  # rejected rows listed in a report; the count is always exact
NEAR_METRES = 25_000  # how far a named place may be from the row's point to be "it"
csv.field_size_limit(10_000_000)


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unknown format, not UTF-8, broken JSON)."""


class RowError(ValueError):
    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column, self.reason = column, reason


@dataclass(frozen=True)
class Citation:
    source: str  # display name; its slug is derived
    kind: str
    url: str | None = None
    published_at: datetime | None = None
    excerpt: str | None = None
    stance: str = "reports"


@dataclass(frozen=True)
class ImportRow:
    external_id: str
    event: EventUpdate
    place_name: str | None
    citations: tuple[Citation, ...]


@dataclass
class ImportReport:
    format: str
    dataset: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected_count: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    written: bool = False

    def reject(self, line: int, column: str, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REPORTED:
            self.rejected.append({"line": line, "column": column, "reason": reason})


# ---------------------------------------------------------------------------------------
# Mapping each format's row to an event


def _date(value: str, column: str) -> datetime:
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y"):
        try:
            return datetime.strptime(value.strip(), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowError(column, f"{value!r} is not a date (YYYY-MM-DD)")


def _int(value: str, column: str, default: int | None = None) -> int | None:
    value = value.strip()
    if not value:
        return default
    if not re.fullmatch(r"-?\d+", value):
        raise RowError(column, f"{value!r} is not a whole number")
    return int(value)


def _float(value: str, column: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise RowError(column, f"{value!r} is not a number") from None


def _code(table: dict[int, str], value: str, column: str) -> str:
    code = _int(value, column)
    if code not in table:
        raise RowError(column, f"unknown code {value!r}; expected one of {sorted(table)}")
    return table[code]


ACLED_TYPES = {
    "battles": "battle",
    "violence against civilians": "violence_against_civilians",
    "protests": "protest",
    "riots": "protest",
    "strategic developments": "other",
    "explosions/remote violence": "explosion",
}
ACLED_SUBTYPES = {
    "shelling/artillery/missile attack": "shelling",
    "air/drone strike": "airstrike",
    "non-violent transfer of territory": "territorial_change",
    "government regains territory": "territorial_change",
    "non-state actor overtakes territory": "territorial_change",
}
ACLED_TIME = {1: "day", 2: "week", 3: "month"}
ACLED_GEO = {1: "settlement", 2: "near", 3: "region"}
UCDP_TIME = {1: "day", 2: "week", 3: "month", 4: "year", 5: "year"}
UCDP_WHERE = {1: "exact", 2: "near", 3: "district", 4: "region", 5: "region", 6: "country",
              7: "country"}  # fmt: skip
UCDP_VIOLENCE = {1: "battle", 2: "battle", 3: "violence_against_civilians"}
PLACE_SUFFIX = re.compile(r"\s+(town|village|city|settlement)$", re.I)


def _point(lon: str, lat: str) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [_float(lon, "longitude"), _float(lat, "latitude")]}


def acled_row(raw: dict[str, str]) -> tuple[str, dict[str, Any], str | None, list[Citation]]:
    kind = raw.get("event_type", "").strip()
    sub = raw.get("sub_event_type", "").strip()
    event_type = ACLED_SUBTYPES.get(sub.lower()) or ACLED_TYPES.get(kind.lower())
    if event_type is None:
        raise RowError("event_type", f"unknown ACLED event type {kind!r}")
    location = raw.get("location", "").strip()
    citations = [Citation(name.strip(), "media")
                 for name in raw.get("source", "").split(";") if name.strip()]  # fmt: skip
    event = {
        "title": f"{sub or kind} in {location}" if location else sub or kind,
        "description": raw.get("notes") or None,
        "event_type": event_type, "sub_event_type": sub or None,
        "actors": [a.strip() for a in (raw.get("actor1", ""), raw.get("actor2", "")) if a.strip()],
        "fatalities": _int(raw.get("fatalities", ""), "fatalities"),
        "occurred_at": _date(raw.get("event_date", ""), "event_date"),
        "time_precision": _code(ACLED_TIME, raw.get("time_precision") or "1", "time_precision"),
        "location_precision": _code(ACLED_GEO, raw.get("geo_precision") or "1", "geo_precision"),
        "geometry": _point(raw.get("longitude", ""), raw.get("latitude", "")),
        "tags": [t for t in (raw.get("admin1", "").strip(),) if t],
    }  # fmt: skip
    return raw.get("event_id_cnty", "").strip(), event, location or None, citations


def ucdp_row(raw: dict[str, str]) -> tuple[str, dict[str, Any], str | None, list[Citation]]:
    start = _date(raw.get("date_start", ""), "date_start")
    end = _date(raw.get("date_end", "") or raw.get("date_start", ""), "date_end")
    offices = [s.strip() for s in raw.get("source_office", "").split(";")]
    dates = [s.strip() for s in raw.get("source_date", "").split(";")]
    citations = []
    for office, published in dict(zip(offices, dates + [""] * len(offices), strict=False)).items():
        if office:
            when = _date(published, "source_date") if published else None
            citations.append(Citation(office, "media", published_at=when))
    citations.append(Citation("UCDP Georeferenced Event Dataset", "research",
                              excerpt=(raw.get("source_article") or None)))  # fmt: skip
    where = PLACE_SUFFIX.sub("", raw.get("where_coordinates", "").strip())
    event = {
        "title": f"{raw.get('dyad_name', '').strip() or 'Violence'} near {where or 'unknown'}",
        "description": raw.get("where_description") or None,
        "event_type": _code(UCDP_VIOLENCE, raw.get("type_of_violence", ""), "type_of_violence"),
        "actors": [a.strip() for a in (raw.get("side_a", ""), raw.get("side_b", "")) if a.strip()],
        "fatalities": _int(raw.get("best", ""), "best"),
        "occurred_at": start,
        "occurred_until": end + timedelta(days=1),  # the last day, whole: [start, end + 1 day)
        "time_precision": _code(UCDP_TIME, raw.get("date_prec", ""), "date_prec"),
        "location_precision": _code(UCDP_WHERE, raw.get("where_prec", ""), "where_prec"),
        "geometry": _point(raw.get("longitude", ""), raw.get("latitude", "")),
    }  # fmt: skip
    return raw.get("id", "").strip(), event, where or None, citations


def geojson_row(feature: dict[str, Any]) -> tuple[str, dict[str, Any], str | None, list[Citation]]:
    props = dict(feature.get("properties") or {})
    external_id = str(props.pop("external_id", "") or feature.get("id") or "")
    place = props.pop("place", None)
    citations = [
        Citation(c.get("source", ""), "media", c.get("url"), c.get("published_at") and
                 _date(c["published_at"][:10], "citations"), c.get("excerpt"),
                 c.get("stance", "reports"))
        for c in props.pop("citations", None) or []
    ]  # fmt: skip
    props.pop("dataset", None)
    return external_id, {**props, "geometry": feature.get("geometry")}, place, citations


# ---------------------------------------------------------------------------------------
# Reading files

Mapper = Callable[[Any], tuple[str, dict[str, Any], str | None, list[Citation]]]
COLUMN_OF_FIELD = {"geometry": "latitude/longitude", "occurred_at": "date",
                   "occurred_until": "date"}  # fmt: skip


def sniff(path: Path) -> str:
    try:
        with open_text(path) as handle:
            head = handle.read(65_536)
    except UnicodeDecodeError:
        raise ImportFileError("the file is not UTF-8 text") from None
    if head.lstrip().startswith("{"):
        return "geojson"
    first_line = head.splitlines()[0] if head else ""
    header = {h.strip().lower() for h in next(csv.reader([first_line]), [])}
    if "event_id_cnty" in header:
        return "acled"
    if {"date_start", "where_prec"} <= header:
        return "ucdp"
    raise ImportFileError("not an ACLED-style CSV, a UCDP GED-style CSV or GeoJSON")


def raw_rows(path: Path, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, raw row) pairs; GeoJSON features are numbered from 1."""
    if fmt == "geojson":
        try:
            with open_text(path) as handle:
                features = json.load(handle).get("features")
        except (ValueError, AttributeError):
            raise ImportFileError("not a GeoJSON FeatureCollection") from None
        if not isinstance(features, list):
            raise ImportFileError("not a GeoJSON FeatureCollection")
        yield from enumerate(features, start=1)
        return
    with open_text(path) as handle:
        reader = csv.DictReader(handle)
        try:
            for raw in reader:
                yield reader.line_num, {(k or "").strip().lower(): v or "" for k, v in raw.items()}
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ImportFileError(f"line {reader.line_num}: {exc}") from None


def parse_row(mapper: Mapper, raw: Any) -> ImportRow:
    external_id, values, place, citations = mapper(raw)
    if not external_id:
        raise RowError("external_id", "every row needs an id")
    try:
        event = EventUpdate.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "row"
        raise RowError(COLUMN_OF_FIELD.get(name, name), first["msg"]) from None
    return ImportRow(external_id, event, place, tuple(citations))


MAPPERS: dict[str, Mapper] = {"acled": acled_row, "ucdp": ucdp_row, "geojson": geojson_row}


# ---------------------------------------------------------------------------------------
# Staging and merging

_STAGE = """
CREATE TEMP TABLE import_events (
    line int, external_id text, title text, description text, event_type text,
    sub_event_type text, actors text[], fatalities int, occurred_at timestamptz,
    occurred_until timestamptz, time_precision text, location_precision text,
    verification text, explicit boolean, tags text[], lon float8, lat float8, place_id bigint
) ON COMMIT DROP;
CREATE TEMP TABLE import_citations (
    external_id text, source_slug text, source_name text, source_kind text, url text,
    published_at timestamptz, stance text, excerpt text
) ON COMMIT DROP;
CREATE TEMP TABLE import_changed (id bigint PRIMARY KEY, inserted boolean) ON COMMIT DROP;
SET LOCAL statement_timeout = 0
"""
_DUPLICATES = """
SELECT external_id, min(line) AS first, array_agg(line ORDER BY line) AS lines
FROM import_events GROUP BY external_id HAVING count(*) > 1 ORDER BY first LIMIT 1000
"""
_DROP_LATER_DUPLICATES = """
DELETE FROM import_events a USING import_events b
WHERE a.external_id = b.external_id AND a.line > b.line
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
           s.place_id, ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326), s.location_precision,
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
    WHERE e.deleted_at IS NULL AND NOT EXISTS (
        SELECT 1 FROM event_sources x WHERE x.event_id = e.id AND x.source_id = src.id
          AND x.url IS NOT DISTINCT FROM c.url AND x.stance = c.stance)
    ORDER BY e.id, src.id, c.url, c.stance
    RETURNING event_id
), touched AS (
    INSERT INTO import_changed SELECT DISTINCT event_id, false FROM added
    ON CONFLICT (id) DO NOTHING RETURNING id
)
UPDATE events SET version = version + 1, updated_at = now()
WHERE id IN (SELECT id FROM touched)
"""
# Only rows whose status changes: every event update rebuilds its Feature text (0009).
_DERIVED = "derived_verification(ARRAY(SELECT stance FROM event_sources WHERE event_id = e.id))"
_DERIVE = f"""
UPDATE events e SET verification = {_DERIVED}
FROM import_changed c WHERE c.id = e.id AND NOT e.verification_explicit
  AND e.verification IS DISTINCT FROM {_DERIVED}
"""
_COUNTS = (
    "SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) "
    "FROM import_changed"
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
        self.places: dict[tuple[str, int, int], int | None] = {}
        self.events: list[tuple[Any, ...]] = []
        self.citations: list[tuple[Any, ...]] = []

    async def place_id(self, row: ImportRow) -> int | None:
        """The named place near the row's point, or a new settlement there."""
        if row.place_name is None or not (key := fold_name(row.place_name)):
            return None
        assert row.event.geometry is not None
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
            self.citations.append((row.external_id, slugify(c.source), c.source[:500], c.kind,
                                   c.url, c.published_at, c.stance, c.excerpt))  # fmt: skip
        if len(self.events) >= CHUNK_ROWS:
            await self.flush()

    async def flush(self) -> None:
        raw = (await self.conn.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.copy_records_to_table("import_events", records=self.events)
        await raw.copy_records_to_table("import_citations", records=self.citations)
        self.events, self.citations = [], []

    async def duplicates(self, partial: bool) -> None:
        for row in (await self.conn.execute(text(_DUPLICATES))).all():
            reason = f"duplicate of line {row.first} ({row.external_id!r})"
            for line in row.lines[1:]:
                self.report.reject(line, "external_id", reason)
        if partial:
            await self.conn.execute(text(_DROP_LATER_DUPLICATES))

    async def merge(self, dataset: str, who: str) -> None:
        params = {"dataset": dataset}
        await self.conn.execute(text(_SOURCES))
        await self.conn.execute(text(_MERGE), params)
        await self.conn.execute(text(_CITE), params)
        await self.conn.execute(text(_DERIVE))
        await record_changed_revisions(self.conn, who)
        inserted, updated = (await self.conn.execute(text(_COUNTS))).one()
        self.report.inserted, self.report.updated = int(inserted), int(updated)


class _Rollback(Exception):
    """Leave the transaction without writing (the report says why)."""


RETRIES = 3
# unique_violation (a place created meanwhile), serialization_failure, deadlock_detected
RETRYABLE = {"23505", "40001", "40P01"}


def _worth_retrying(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE or isinstance(exc, IntegrityError)


async def _import_once(
    engine: AsyncEngine,
    path: Path,
    report: ImportReport,
    who: str,
    partial: bool,
    progress: Callable[[int], None] | None,
) -> None:
    mapper = MAPPERS[report.format]
    try:
        async with engine.begin() as conn:
            await execute_script(conn, _STAGE)
            importer = Importer(conn, report)
            for line, raw in raw_rows(path, report.format):
                report.rows += 1
                try:
                    await importer.add(line, parse_row(mapper, raw))
                except RowError as exc:
                    report.reject(line, exc.column, exc.reason)
                if progress and report.rows % CHUNK_ROWS == 0:
                    progress(report.rows)
            await importer.flush()
            await importer.duplicates(partial)
            if report.rejected_count and not partial:
                raise _Rollback
            await importer.merge(report.dataset, who)
            changed = report.rejected_count + report.inserted + report.updated
            report.unchanged = report.rows - changed
            report.written = True
    except _Rollback:
        pass


async def import_events(
    engine: AsyncEngine,
    path: Path,
    dataset: str,
    who: str,
    *,
    partial: bool = False,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import one file; see the module docstring for the rules.

    A concurrent import that creates the same new place first, or a lock conflict, makes the
    transaction fail as a whole; it is then run again (the other import's work is visible
    by then), a few times at most.
    """
    fmt = fmt or sniff(path)
    for attempt in range(1, RETRIES + 1):
        report = ImportReport(fmt, dataset)
        try:
            await _import_once(engine, path, report, who, partial, progress)
        except DBAPIError as exc:
            if attempt == RETRIES or not _worth_retrying(exc):
                raise
            continue
        break
    report.rejected.sort(key=lambda r: r["line"])
    return report
