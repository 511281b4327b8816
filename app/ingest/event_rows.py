"""Event files → validated rows: ACLED-style CSV, UCDP GED-style CSV and GeoJSON.

Each format's row is mapped to an event body and checked by the write path's own model
(``EventUpdate``); a bad value raises ``RowError`` naming its column, a file that cannot be
read at all ``ImportFileError``.
"""

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.domain.bodies import EventUpdate
from app.ingest.places import open_text

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
    # A secondary value that did not parse, kept as text in the excerpt: (column, reason).
    warning: tuple[str, str] | None = None


@dataclass(frozen=True)
class ImportRow:
    external_id: str
    event: EventUpdate
    place_name: str | None
    citations: tuple[Citation, ...]


ISO_DAY_AND_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T[\d:.]+Z?$")  # UCDP's API: ...T00:00:00


def _date(value: str, column: str) -> datetime:
    value = value.strip()
    if day := ISO_DAY_AND_TIME.match(value):
        value = day.group(1)
    for pattern in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise RowError(column, f"{value!r} is not a date (YYYY-MM-DD)")


def published_citation(
    source: str, kind: str, value: str | None, column: str, excerpt: str | None = None
) -> Citation:
    """A citation with its publication date. The date is provenance, not a core field: one
    that does not parse never rejects the row; it stays as text in the excerpt, with a
    warning for the report."""
    if not value or not value.strip():
        return Citation(source, kind, excerpt=excerpt)
    try:
        return Citation(source, kind, published_at=_date(value[:10], column), excerpt=excerpt)
    except RowError as exc:
        kept = f"published {value.strip()}" + (f"; {excerpt}" if excerpt else "")
        return Citation(source, kind, excerpt=kept, warning=(column, f"{exc.reason}; kept as text"))


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
            citations.append(published_citation(office, "media", published, "source_date"))
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
        "tags": ucdp_tags(raw),
    }  # fmt: skip
    return raw.get("id", "").strip(), event, where or None, citations


CANDIDATE_TAG = "ucdp-candidate"
VINTAGE = "frontline_vintage"  # set by the UCDP feed: "candidate" for a monthly release


def ucdp_tags(raw: dict[str, str]) -> list[str]:
    """UCDP's own coding status (Clear, or Check … while it is reviewed) stays visible, and so
    does a Candidate vintage, which a final GED release later supersedes."""
    tags = [f"code_status:{status}"] if (status := raw.get("code_status", "").strip()) else []
    if country := raw.get("country_id", "").strip():
        tags.append(country_tag(country))
    return tags + ([CANDIDATE_TAG] if raw.get(VINTAGE) == "candidate" else [])


def country_tag(country_id: str) -> str:
    """UCDP's Gleditsch-Ward country code, so a release fetched for some countries only
    supersedes the Candidate events of those countries."""
    return f"ucdp-country:{country_id}"


def geojson_row(feature: dict[str, Any]) -> tuple[str, dict[str, Any], str | None, list[Citation]]:
    props = dict(feature.get("properties") or {})
    external_id = str(props.pop("external_id", "") or feature.get("id") or "")
    place = props.pop("place", None)
    citations = [
        replace(published_citation(c.get("source", ""), "media", c.get("published_at"), "citations",
                           c.get("excerpt")), url=c.get("url"), stance=c.get("stance", "reports"))
        for c in props.pop("citations", None) or []
    ]  # fmt: skip
    props.pop("dataset", None)
    return external_id, {**props, "geometry": feature.get("geometry")}, place, citations


Mapper = Callable[[Any], tuple[str, dict[str, Any], str | None, list[Citation]]]
COLUMN_OF_FIELD = {"geometry": "latitude/longitude", "occurred_at": "date",
                   "occurred_until": "date"}  # fmt: skip


# The columns without which a file is not of a built-in CSV format (its rows' id, date, point).
FORMAT_COLUMNS = {
    "acled": ("event_id_cnty", "event_date", "event_type", "latitude", "longitude"),
    "ucdp": ("id", "date_start", "type_of_violence", "latitude", "longitude"),
}


def missing_columns(wanted: Iterable[str], names: list[str]) -> list[str]:
    """The ``wanted`` columns a file's header ``names`` lacks (the comparison ignores case)."""
    have = {name.strip().lower() for name in names}
    return [column for column in wanted if column.lower() not in have]


def check_format_columns(fmt: str, names: list[str]) -> None:
    """A file said to be ACLED or UCDP CSV has that format's key columns (case ignored), so a
    wrong file is refused rather than read as zero rows."""
    if missing := missing_columns(FORMAT_COLUMNS.get(fmt, ()), names):
        shown = ", ".join(names[:12]) or "none"
        raise ImportFileError(f"not {fmt.upper()} CSV: no column {', '.join(missing)} "
                              f"(its columns: {shown})")  # fmt: skip


class UnknownFormat(ImportFileError):
    """Readable text, but none of the built-in formats (a mapping may still read it)."""


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
    raise UnknownFormat("not an ACLED-style CSV, a UCDP GED-style CSV or GeoJSON")


def raw_rows(
    path: Path, fmt: str, delimiter: str | None = None, encoding: str = "utf-8"
) -> Iterator[tuple[int, Any]]:
    """(line number, raw row) pairs; GeoJSON features are numbered from 1. CSV columns are
    matched without case; a byte-order mark and `;` or tab delimiters are recognised."""
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
    with open_text(path, encoding) as handle:
        reader = csv.DictReader(handle, delimiter=delimiter or _delimiter(path, encoding))
        try:
            for raw in reader:
                yield reader.line_num, {(k or "").strip().lstrip("\ufeff").lower(): v or ""
                                        for k, v in raw.items()}  # fmt: skip
        except UnicodeDecodeError:
            raise ImportFileError(f"line {reader.line_num}: not {encoding} text; say the file's "
                                  "encoding (--encoding cp1252)") from None  # fmt: skip
        except csv.Error as exc:
            raise ImportFileError(f"line {reader.line_num}: {exc}") from None


def header(path: Path, delimiter: str | None = None, encoding: str = "utf-8") -> list[str]:
    """The CSV file's column names, as written."""
    try:
        with open_text(path, encoding) as handle:
            first = handle.readline()
    except UnicodeDecodeError:
        raise ImportFileError(f"the header is not {encoding} text; say the file's encoding "
                              "(--encoding cp1252)") from None  # fmt: skip
    except LookupError:
        raise ImportFileError(f"unknown encoding {encoding!r}") from None
    names = next(csv.reader([first], delimiter=delimiter or _delimiter(path, encoding)), [])
    return [name.strip().lstrip("\ufeff") for name in names]


def _delimiter(path: Path, encoding: str = "utf-8") -> str:
    """`,` unless the header line has more `;` or tabs (spreadsheet exports)."""
    with open_text(path, encoding) as handle:
        first = handle.readline()
    return max((",", ";", "\t"), key=first.count) if first else ","


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
