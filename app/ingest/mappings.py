"""Mappings: how any CSV an analyst has becomes events, written once as a small TOML file.

A mapping names the columns that hold the id (one column, or several joined), the start (and
end) time, the point (longitude and latitude) or the name of a place, the title (a template of
`{column}` fields), and optionally the description, the event type (a column with a value map
onto Frontline's vocabulary, or one value for every row), actors, fatalities and the citation
(a source named once, a URL and a publication-date column). Rows with a place name and no
point are tied to that place and take its representative point (a named oblast: region
precision). Core fields — id, time, point or place — reject a row when they do not parse;
a secondary value (a publication date) never does. Shipped mappings live in `mappings/`.
"""

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from string import Formatter
from typing import Any

from app.domain.vocab import EventType, LocationPrecision, TimePrecision, values
from app.ingest import dates
from app.ingest.dates import DateOrderError, order_of
from app.ingest.event_rows import Citation, RowError, missing_columns, published_citation
from app.settings import REPO_ROOT

MAPPINGS_DIR = REPO_ROOT / "mappings"
KNOWN = {
    "columns": {"id", "start", "end", "lon", "lat", "place", "title", "description",
                "event_type", "actors", "fatalities", "url", "published"},
    "event_types": None,  # any value → a Frontline event type
    "values": {"event_type", "time_precision", "location_precision"},
    "citation": {"source", "kind"},
    "file": {"delimiter", "format", "date_format", "encoding"},
}  # fmt: skip
BUILT_IN = ["acled", "ucdp", "geojson"]
RawMapper = Callable[[dict[str, str]], tuple[str, dict[str, Any], str | None, list[Citation]]]


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the offending key or column."""


@dataclass(frozen=True)
class Mapping:
    name: str
    columns: dict[str, Any]
    event_types: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    citation: dict[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    # A file in one of the built-in formats (acled, ucdp, geojson): read as that format.
    format: str | None = None
    date_order: str | None = None  # DMY or MDY for day/month dates (file.date_format)
    encoding: str = "utf-8"

    def used_columns(self) -> set[str]:
        """Every file column the mapping reads (templates' fields included)."""
        used: set[str] = set()
        for key, value in self.columns.items():
            names = value if isinstance(value, list) else [value]
            if key == "title" or key == "description":
                used |= {n for text in names for n in _fields(text)}
            else:
                used |= set(names)
        return used


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}


def shipped_mappings() -> list[str]:
    """The names of the mappings that ship with Frontline (`mappings/*.toml`)."""
    return sorted(p.stem for p in MAPPINGS_DIR.glob("*.toml"))


def load_mapping(name_or_path: str) -> Mapping:
    """A shipped mapping by name (`mappings/NAME.toml`) or a TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = MAPPINGS_DIR / f"{name_or_path}.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        shipped = ", ".join(shipped_mappings())
        raise MappingError(f"no mapping {name_or_path!r} (shipped: {shipped})") from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path.name}: not valid TOML: {exc}") from None
    return _checked(path.stem, doc)


def mapping_from_toml(name: str, text: str) -> Mapping:
    """A mapping from its TOML text (what `--inspect` writes)."""
    try:
        return _checked(name, tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{name}: not valid TOML: {exc}") from None


def _checked(name: str, doc: dict[str, Any]) -> Mapping:
    _check_keys(name, doc)
    if (builtin := doc.get("file", {}).get("format")) is not None:
        if builtin not in BUILT_IN:
            raise MappingError(f"{name}: file.format = {builtin!r}; use one of {BUILT_IN}")
        return Mapping(name, {}, format=builtin)
    columns = doc.get("columns", {})
    for required in ("id", "start", "title"):
        if required not in columns:
            raise MappingError(f"{name}: columns.{required} is required")
    if "place" not in columns and not {"lon", "lat"} <= set(columns):
        raise MappingError(f"{name}: map columns.lon and columns.lat, or columns.place")
    _check_vocabulary(name, doc)
    file = doc.get("file", {})
    try:
        order = order_of(file.get("date_format"))
    except DateOrderError as exc:
        raise MappingError(f"{name}: file.{exc}") from None
    return Mapping(name, columns, doc.get("event_types", {}), doc.get("values", {}),
                   doc.get("citation", {}), file.get("delimiter"), date_order=order,
                   encoding=file.get("encoding", "utf-8"))  # fmt: skip


def _check_keys(name: str, doc: dict[str, Any]) -> None:
    for section, keys in doc.items():
        if section not in KNOWN:
            raise MappingError(f"{name}: unknown section [{section}]; use {sorted(KNOWN)}")
        allowed = KNOWN[section]
        unknown = sorted(set(keys) - allowed) if allowed is not None else []
        if unknown:
            raise MappingError(
                f"{name}: unknown key {section}.{unknown[0]}; use {sorted(allowed or ())}"
            )


def _check_vocabulary(name: str, doc: dict[str, Any]) -> None:
    """Every value a mapping sets is one of Frontline's."""
    types = {**{f"event_types.{k!r}": v for k, v in doc.get("event_types", {}).items()},
             "values.event_type": doc.get("values", {}).get("event_type", "other")}  # fmt: skip
    for where, mapped in types.items():
        if mapped not in values(EventType):
            raise MappingError(f"{name}: {where} = {mapped!r} is not an event type")
    for key, enum in (("time_precision", TimePrecision), ("location_precision", LocationPrecision)):
        value = doc.get("values", {}).get(key)
        if value is not None and value not in values(enum):
            raise MappingError(f"{name}: values.{key} = {value!r}; use one of {values(enum)}")


def check_header(mapping: Mapping, header: list[str]) -> None:
    """Every column the mapping reads is in the file (the comparison ignores case)."""
    if missing := sorted(missing_columns(mapping.used_columns(), header)):
        raise MappingError(f"mapping {mapping.name}: the file has no column {', '.join(missing)} "
                           f"(its columns: {', '.join(header)})")  # fmt: skip


def _instant(value: str, column: str, order: str | None) -> datetime:
    try:
        return dates.parse(value, order)
    except ValueError:
        raise RowError(column, f"{value!r} is not a date or time") from None


def date_order(mapping: Mapping, rows: Iterable[tuple[int, dict[str, str]]]) -> str | None:
    """The day/month order of the file's time columns, as the values prove it."""
    columns = [mapping.columns[k] for k in ("start", "end") if k in mapping.columns]
    seen: dict[str, list[str]] = {column: [] for column in columns}
    for _, raw in rows:
        for column in columns:
            seen[column].append(_get(raw, column))
    orders = {o for column, found in seen.items() if (o := dates.order_from_values(column, found))}
    if len(orders) > 1:
        raise DateOrderError(
            f"columns {', '.join(columns)} put the day and month in different orders"
        )
    return orders.pop() if orders else None


class _Fields(dict[str, str]):
    """A row for a title template: columns without case, a missing or empty one as ''."""

    def __missing__(self, key: str) -> str:
        return self.get(key.lower(), "").strip()


def _get(raw: dict[str, str], column: str) -> str:
    return raw.get(column.lower(), "").strip()


def build_mapper(mapping: Mapping, order: str | None = None) -> RawMapper:
    """The row mapper the import path runs for every row of a mapped file (``order``: DMY or
    MDY, for day/month dates)."""
    c = mapping.columns

    def mapped(raw: dict[str, str]) -> tuple[str, dict[str, Any], str | None, list[Citation]]:
        ids = c["id"] if isinstance(c["id"], list) else [c["id"]]
        external_id = "|".join(_get(raw, col) for col in ids).strip("|")
        event: dict[str, Any] = {
            "title": c["title"].format_map(_Fields(raw)),
            "occurred_at": _instant(_get(raw, c["start"]), c["start"], order),
            **{k: v for k, v in mapping.values.items() if k in ("time_precision",
                                                                 "location_precision")},
        }  # fmt: skip
        _optional(event, raw, mapping, order)
        place = (_get(raw, c["place"]) or None) if "place" in c else None
        if place is not None and "geometry" not in event:
            event["place"] = place  # no point: the place's (the import resolves it by name)
        return external_id, event, place, _citations(raw, mapping)

    return mapped


def _optional(
    event: dict[str, Any], raw: dict[str, str], mapping: Mapping, order: str | None
) -> None:
    """The fields a mapping may name: end, point, description, type, actors, fatalities."""
    c = mapping.columns
    if "end" in c and (end := _get(raw, c["end"])):
        event["occurred_until"] = _instant(end, c["end"], order)
    if "lon" in c and (_get(raw, c["lon"]) or _get(raw, c["lat"])):
        point = [_number(raw, c["lon"]), _number(raw, c["lat"])]
        event["geometry"] = {"type": "Point", "coordinates": point}
    if "description" in c:
        event["description"] = c["description"].format_map(_Fields(raw)) or None
    kind = _get(raw, c["event_type"]) if "event_type" in c else ""
    default = mapping.values.get("event_type", "other")
    event["event_type"] = mapping.event_types.get(kind, default if not kind else "other")
    if kind and kind not in mapping.event_types:
        event["sub_event_type"] = kind  # unmapped: kept as it came
    if "actors" in c:
        event["actors"] = [a for col in c["actors"] if (a := _get(raw, col))]
    if "fatalities" in c and (deaths := _get(raw, c["fatalities"])):
        if not deaths.isdigit():
            raise RowError(c["fatalities"], f"{deaths!r} is not a whole number")
        event["fatalities"] = int(deaths)


def _number(raw: dict[str, str], column: str) -> float:
    try:
        return float(_get(raw, column))
    except ValueError:
        raise RowError(column, f"{_get(raw, column)!r} is not a number") from None


def _citations(raw: dict[str, str], mapping: Mapping) -> list[Citation]:
    source = mapping.citation.get("source")
    if not source:
        return []
    c = mapping.columns
    published = _get(raw, c["published"]) if "published" in c else None
    cited = published_citation(source, mapping.citation.get("kind", "media"), published,
                               c.get("published", "published"))  # fmt: skip
    url = _get(raw, c["url"]) if "url" in c else ""
    return [Citation(cited.source, cited.kind, url or None, cited.published_at, cited.excerpt,
                     warning=cited.warning)]  # fmt: skip
