"""`frontline places import FILE`: load a larger gazetteer idempotently, all or nothing.

Three inputs are recognised by their content: a GeoNames geoname table (`cities500.txt`,
`allCountries.txt`, 19 tab-separated columns, optionally gzipped, with or without a header),
a GeoNames `alternateNames` table (spellings with language codes, attached to places already
imported by GeoNames id), and a GeoJSON FeatureCollection in the seeds' shape.

GeoNames rows are checked in Python first (a bad line stops the import and names the line),
then copied into a temporary table and merged with set-based SQL, so 100 000 places take
seconds rather than 100 000 round trips. An import never renames, re-slugs or re-parents a
place that already exists: it refreshes its point and population and adds spellings.
"""

import gzip
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.names import fold_name
from app.ingest.seed import parents_first, upsert_place
from app.store.repository import execute_script

GEONAME_COLUMNS = 19
# alternateNames "languages" that are really link types or codes, not spellings.
NOT_A_LANGUAGE = {"link", "wkdt", "post", "iata", "icao", "faac", "abbr", "unlc", "phon", "piny",
                  "tcid", "fr_1793"}  # fmt: skip
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


class PlaceImportError(ValueError):
    """A file that cannot be imported; the message names the line."""


@dataclass(frozen=True)
class ImportCounts:
    places: int
    names: int
    skipped: int = 0


@dataclass(frozen=True)
class GeonameRow:
    geonames_id: int
    name: str
    slug: str
    kind: str
    country_code: str | None
    lon: float
    lat: float
    population: int | None
    spellings: tuple[str, ...]


def open_text(path: Path, encoding: str = "utf-8") -> IO[str]:
    """The file as text, gunzipped when it starts with gzip's magic bytes."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    if gzipped:
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SLUG_JUNK.sub("-", ascii_name.lower()).strip("-")[:100] or "place"


def place_kind(feature_class: str, feature_code: str) -> str:
    """GeoNames feature class/code → our place kind."""
    if feature_class == "P":
        return "settlement"
    if feature_code.startswith("PCL"):
        return "country"
    if feature_code == "ADM1":
        return "region"
    if feature_code in ("ADM2", "ADM3", "ADM4"):
        return "district"
    return "site"


def _number(value: str, what: str, line: int, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise PlaceImportError(f"line {line}: {what} {value!r} is not a number") from None
    if not low <= number <= high:
        raise PlaceImportError(f"line {line}: {what} {number} is outside [{low:g}, {high:g}]")
    return number


def parse_geoname(fields: list[str], line: int) -> GeonameRow:
    if len(fields) != GEONAME_COLUMNS:
        raise PlaceImportError(
            f"line {line}: expected {GEONAME_COLUMNS} columns, got {len(fields)}"
        )
    if not fields[0].isdigit() or not fields[1].strip():
        raise PlaceImportError(f"line {line}: needs a numeric geonameid and a name")
    population = fields[14].strip()
    country = fields[8].strip().upper()
    return GeonameRow(
        geonames_id=int(fields[0]),
        name=fields[1].strip(),
        slug=slugify(fields[2] or fields[1]),
        kind=place_kind(fields[6], fields[7]),
        country_code=country if re.fullmatch(r"[A-Z]{2}", country) else None,
        lon=_number(fields[5], "longitude", line, -180, 180),
        lat=_number(fields[4], "latitude", line, -90, 90),
        population=int(population) if population.isdigit() and int(population) > 0 else None,
        spellings=tuple(dict.fromkeys(n for n in (fields[2], *fields[3].split(",")) if n)),
    )


def _tsv_rows(handle: IO[str]) -> Iterator[tuple[int, list[str]]]:
    for number, raw in enumerate(handle, start=1):
        if raw.strip() and not raw.startswith("#"):
            yield number, raw.rstrip("\r\n").split("\t")


def script_tag(name: str) -> str:
    """A language tag for a spelling whose language GeoNames does not give."""
    if any("\u0400" <= ch <= "\u04ff" for ch in name):
        return "und-Cyrl"
    return "und-Latn" if fold_name(name) else "und"


_CREATE_STAGING = """
CREATE TEMP TABLE import_geonames (
    geonames_id bigint PRIMARY KEY, name text, slug text, kind text, country_code text,
    lon float8, lat float8, population bigint, geom geometry(Point, 4326), parent_id bigint
) ON COMMIT DROP;
CREATE TEMP TABLE import_names (geonames_id bigint, name text, lang text, name_key text)
ON COMMIT DROP;
SET LOCAL statement_timeout = 0
"""
# Parents of new places: the smallest boundary of their country that contains them, else their
# country. Computed as one spatial join (each boundary prepared once), not a lookup per row.
_PREPARE_STAGED = """
UPDATE import_geonames SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326);
CREATE INDEX ON import_geonames USING gist (geom);
ANALYZE import_geonames;
UPDATE import_geonames g SET parent_id = best.id
FROM (
    SELECT DISTINCT ON (s.geonames_id) s.geonames_id, r.id
    FROM places r JOIN import_geonames s
      ON r.country_code = s.country_code AND ST_Contains(r.boundary, s.geom)
    WHERE r.boundary IS NOT NULL
    ORDER BY s.geonames_id, ST_Area(r.boundary)
) best
WHERE best.geonames_id = g.geonames_id;
UPDATE import_geonames g SET parent_id = c.id
FROM places c
WHERE g.parent_id IS NULL AND g.kind <> 'country' AND c.kind = 'country'
  AND c.country_code = g.country_code
"""
# New places get a free slug: their name, or name-geonameid when it is taken.
_MERGE_PLACES = """
WITH staged AS (
    SELECT g.*, row_number() OVER (PARTITION BY g.slug ORDER BY g.population DESC NULLS LAST,
                                   g.geonames_id) AS slug_rank
    FROM import_geonames g
)
INSERT INTO places AS p (slug, name, kind, country_code, parent_id, geonames_id, population, geom)
SELECT CASE WHEN s.slug_rank > 1 OR EXISTS (SELECT 1 FROM places o WHERE o.slug = s.slug)
            THEN s.slug || '-' || s.geonames_id ELSE s.slug END,
       s.name, s.kind, s.country_code, s.parent_id, s.geonames_id, s.population, s.geom
FROM staged s
ON CONFLICT (geonames_id) DO UPDATE SET
    geom = EXCLUDED.geom, population = EXCLUDED.population, updated_at = now()
WHERE NOT ST_Equals(p.geom, EXCLUDED.geom) OR p.population IS DISTINCT FROM EXCLUDED.population
RETURNING p.id
"""
_MERGE_NAMES = """
INSERT INTO place_names (place_id, name, lang, name_key)
SELECT DISTINCT p.id, n.name, n.lang, n.name_key
FROM import_names n JOIN places p ON p.geonames_id = n.geonames_id
ON CONFLICT (place_id, name, lang) DO NOTHING
RETURNING id
"""
_UNKNOWN_IDS = """
SELECT count(*) FROM import_names n
WHERE NOT EXISTS (SELECT 1 FROM places p WHERE p.geonames_id = n.geonames_id)
"""


STAGED_COLUMNS = {
    "import_geonames": ["geonames_id", "name", "slug", "kind", "country_code", "lon", "lat",
                        "population"],
    "import_names": ["geonames_id", "name", "lang", "name_key"],
}  # fmt: skip


async def _copy(conn: AsyncConnection, table: str, records: list[tuple[Any, ...]]) -> None:
    """COPY the rows into a staging table through asyncpg's binary protocol."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    await raw.copy_records_to_table(table, records=records, columns=STAGED_COLUMNS[table])


async def _stage_and_merge(
    conn: AsyncConnection,
    places: list[tuple[Any, ...]],
    names: list[tuple[Any, ...]],
) -> ImportCounts:
    await execute_script(conn, _CREATE_STAGING)
    await _copy(conn, "import_geonames", places)
    await _copy(conn, "import_names", names)
    changed = 0
    if places:
        await execute_script(conn, _PREPARE_STAGED)
        changed = len((await conn.execute(text(_MERGE_PLACES))).all())
    skipped = int((await conn.execute(text(_UNKNOWN_IDS))).scalar_one())
    added = len((await conn.execute(text(_MERGE_NAMES))).all())
    return ImportCounts(changed, added, skipped)


def read_geonames(handle: IO[str]) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    places: dict[int, tuple[Any, ...]] = {}
    names: list[tuple[Any, ...]] = []
    for line, fields in _tsv_rows(handle):
        if line == 1 and fields[0] == "geonameid":
            continue
        row = parse_geoname(fields, line)
        places[row.geonames_id] = (row.geonames_id, row.name, row.slug, row.kind,
                                   row.country_code, row.lon, row.lat, row.population)  # fmt: skip
        for spelling in (row.name, *row.spellings):
            if key := fold_name(spelling):
                names.append((row.geonames_id, spelling, script_tag(spelling), key))
    return list(places.values()), names


def read_alternate_names(handle: IO[str]) -> list[tuple[Any, ...]]:
    names = []
    for line, fields in _tsv_rows(handle):
        if len(fields) < 4 or not fields[0].isdigit() or not fields[1].isdigit():
            raise PlaceImportError(f"line {line}: not an alternateNames row")
        lang, spelling = fields[2].strip(), fields[3].strip()
        if lang in NOT_A_LANGUAGE or not spelling or len(spelling) > 200:
            continue
        if key := fold_name(spelling):
            names.append((int(fields[1]), spelling, lang or script_tag(spelling), key))
    return names


def read_geojson(path: Path) -> list[dict[str, Any]]:
    """Seed-shaped features: properties slug/name/kind/…/names, a Point or (Multi)Polygon."""
    try:
        with open_text(path) as handle:
            doc = json.load(handle)
        features = doc["features"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PlaceImportError(f"not a GeoJSON FeatureCollection: {exc}") from None
    places = []
    for index, feature in enumerate(features):
        props, geometry = dict(feature.get("properties") or {}), feature.get("geometry") or {}
        if not props.get("name") or props.get("kind") not in (
            "country", "region", "district", "settlement", "site"
        ):  # fmt: skip
            raise PlaceImportError(f"feature {index}: needs a name and a valid kind")
        props.setdefault("slug", slugify(props["name"]))
        if geometry.get("type") == "Point":
            props["lon"], props["lat"] = geometry["coordinates"][:2]
        elif geometry.get("type") in ("Polygon", "MultiPolygon"):
            props["boundary"] = geometry
        else:
            raise PlaceImportError(f"feature {index}: geometry must be a Point or a (Multi)Polygon")
        places.append(props)
    return places


async def _check_parents(conn: AsyncConnection, features: list[dict[str, Any]]) -> None:
    """Parents named by slug must be in the file or already in the gazetteer."""
    in_file = {f["slug"] for f in features}
    wanted = sorted({f["parent"] for f in features if f.get("parent")} - in_file)
    if not wanted:
        return
    query = text("SELECT slug FROM places WHERE slug = ANY(:slugs)")
    known = set((await conn.execute(query, {"slugs": wanted})).scalars())
    if missing := [slug for slug in wanted if slug not in known]:
        raise PlaceImportError(f"unknown parent place {missing[0]!r}")


def sniff(path: Path) -> str:
    """'geojson', 'geonames' or 'alternate-names', from the first data line."""
    with open_text(path) as handle:
        head = handle.read(4096)
    if head.lstrip().startswith("{"):
        return "geojson"
    first = next((row for row in head.splitlines() if row.strip()), "")
    columns = first.split("\t")
    if len(columns) == GEONAME_COLUMNS:
        return "geonames"
    if 4 <= len(columns) <= 10 and columns[0].isdigit() and columns[1].isdigit():
        return "alternate-names"
    raise PlaceImportError(f"{path.name}: not GeoJSON, a GeoNames table or an alternateNames table")


async def import_places(engine: AsyncEngine, path: Path) -> ImportCounts:
    """Import one file in one transaction: a failure leaves the gazetteer as it was."""
    kind = sniff(path)
    if kind == "geojson":
        features = list(parents_first(read_geojson(path), outside_ok=True))
        async with engine.begin() as conn:
            await _check_parents(conn, features)
            changed = added = 0
            for place in features:
                place_changed, names_added = await upsert_place(conn, place)
                changed, added = changed + place_changed, added + names_added
        return ImportCounts(changed, added)
    with open_text(path) as handle:
        if kind == "geonames":
            places, names = read_geonames(handle)
        else:
            places, names = [], read_alternate_names(handle)
    async with engine.begin() as conn:
        return await _stage_and_merge(conn, places, names)
