"""`frontline import --inspect FILE`: read a CSV and write the mapping that imports it.

The mapping comes out complete and accepted by `--mapping` as it is, with comments saying
what was detected and what to check: the columns named like an id, a time, a point, a place,
a title, a type, fatalities or a link (matched without case, common spellings in several
languages' exports); when no column is named like an id, the first whose values are all
present and unique (or nearly: the repeats are then reported by the import); the day/month
order when the values prove it; and each type value, mapped onto Frontline's vocabulary when
the name says it.
"""

import re
from itertools import islice
from pathlib import Path

from app.domain.vocab import EventType, values
from app.ingest.dates import DateOrderError, order_from_values
from app.ingest.event_rows import ImportFileError, header, raw_rows
from app.ingest.mappings import Mapping, mapping_from_toml

SAMPLE_ROWS = 5000
NAMES = {
    "id": ("id", "event_id", "event_id_cnty", "uid", "uuid", "key", "ref", "reference"),
    "start": ("start", "started_at", "date_start", "start_date", "event_date", "date", "datetime",
              "time", "timestamp", "occurred_at", "when", "datum", "fecha", "data", "дата"),
    "end": ("end", "finished_at", "date_end", "end_date", "ended_at", "until", "occurred_until"),
    "lon": ("lon", "lng", "long", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
    "place": ("place", "location", "settlement", "city", "town", "village", "where_coordinates",
              "where", "oblast", "region", "admin1"),
    "title": ("title", "headline", "name", "summary", "event"),
    "description": ("description", "notes", "details", "text", "comment"),
    "event_type": ("event_type", "type", "kind", "category", "sub_event_type"),
    "fatalities": ("fatalities", "deaths", "killed", "dead", "casualties", "best"),
    "url": ("url", "link", "source_url", "href"),
    "published": ("published", "published_at", "source_date", "date_published", "posted"),
}  # fmt: skip
TYPE_WORDS = {t: re.compile(re.escape(t.replace("_", " ")), re.I) for t in values(EventType)}


def _named(columns: list[str], role: str, taken: set[str]) -> str | None:
    lower = {c.lower(): c for c in columns if c not in taken}
    return next((lower[n] for n in NAMES[role] if n in lower), None)


def _unique(columns: list[str], rows: list[dict[str, str]]) -> bool:
    """Whether the columns' values, joined, are present and unique in nearly every row."""
    keys = ["|".join(r.get(c.lower(), "").strip() for c in columns) for r in rows]
    return bool(keys) and all(k.strip("|") for k in keys) and len(set(keys)) >= 0.99 * len(keys)


def _proposed_id(
    columns: list[str], found: dict[str, str], rows: list[dict[str, str]]
) -> list[str] | None:
    """A column that is unique on its own (not a time: that would be a coincidence), else the
    place and the time together, else the place and both ends of the span."""
    times = {found.get("start"), found.get("end")}
    for column in columns:
        if column not in times and _unique([column], rows):
            return [column]
    for combination in (["place", "start"], ["place", "start", "end"]):
        chosen = [found[role] for role in combination if role in found]
        if len(chosen) == len(combination) and _unique(chosen, rows):
            return chosen
    return None


def _type_value(raw: str) -> str:
    folded = raw.strip().lower().replace("-", " ")
    exact = folded.replace(" ", "_")
    if exact in values(EventType):
        return exact
    return next((t for t, word in TYPE_WORDS.items() if t != "other" and word.search(folded)),
                "other")  # fmt: skip


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _detect(path: Path, encoding: str) -> tuple[list[str], list[dict[str, str]], dict[str, str]]:
    """The file's columns, its first rows, and the column found for each role."""
    columns = header(path, encoding=encoding)
    rows = [raw for _, raw in islice(raw_rows(path, "csv", encoding=encoding), SAMPLE_ROWS)]
    found: dict[str, str] = {}
    for role in NAMES:
        if column := _named(columns, role, set(found.values())):
            found[role] = column
    return columns, rows, found


def detected_mapping(path: Path, encoding: str = "utf-8") -> Mapping:
    """The mapping a CSV of no known format is imported with when none is given: what
    `--inspect` writes, provided it found a time and a point or a place."""
    _, _, found = _detect(path, encoding)
    if "start" not in found or not ("place" in found or {"lon", "lat"} <= set(found)):
        raise ImportFileError(
            "not an ACLED-style CSV, a UCDP GED-style CSV or GeoJSON, and no columns are named "
            "like a time and a point or a place: write a mapping "
            f"(frontline import {path.name} --inspect > mapping.toml, then --mapping)"
        )
    return mapping_from_toml("detected", inspect_file(path, encoding))


def inspect_file(path: Path, encoding: str = "utf-8") -> str:
    """The mapping (TOML text, with comments) that imports ``path``."""
    columns, rows, found = _detect(path, encoding)
    lines = [f"# Mapping for {path.name}, written by `frontline import --inspect` from its",
             f"# header and first {len(rows)} rows. Check each line, then import with:",
             f"#   frontline import {path.name} --dataset NAME --mapping THIS.toml", "",
             "[columns]"]  # fmt: skip
    lines += _id_lines(found, columns, rows)
    lines += _time_and_place_lines(found)
    if title := found.get("title"):
        lines.append(f"title = {_toml('{' + title + '}')}")
    else:
        lines.append(f"title = {_toml(_title_template(found))}  # no title column: a template")
    for role in ("description", "fatalities", "url", "published"):
        if role in found:
            value = "{" + found[role] + "}" if role == "description" else found[role]
            lines.append(f"{role} = {_toml(value)}")
    lines += _type_lines(found, rows)
    lines += _file_lines(found, rows, encoding)
    return "\n".join(lines) + "\n"


def _id_lines(found: dict[str, str], columns: list[str], rows: list[dict[str, str]]) -> list[str]:
    if "id" in found:
        return [f"id = {_toml(found['id'])}"]
    proposed = _proposed_id(columns, found, rows)
    if proposed:
        value = _toml(proposed[0]) if len(proposed) == 1 else (
            "[" + ", ".join(_toml(c) for c in proposed) + "]")  # fmt: skip
        return [f"id = {value}  # no column is named like an id: these values are present and "
                "unique"]  # fmt: skip
    everything = ", ".join(_toml(c) for c in columns)
    return [f"id = [{everything}]  # no unique column: all of them, joined (drop what may change)"]


def _time_and_place_lines(found: dict[str, str]) -> list[str]:
    lines = [f"start = {_toml(found.get('start', 'DATE'))}"
             + ("" if "start" in found else "  # no time column found: name it here")]  # fmt: skip
    if "end" in found:
        lines.append(f"end = {_toml(found['end'])}")
    if "lon" in found and "lat" in found:
        lines += [f"lon = {_toml(found['lon'])}", f"lat = {_toml(found['lat'])}"]
    if "place" in found:
        note = "" if "lon" in found else "  # no point: rows take this place's point"
        lines.append(f"place = {_toml(found['place'])}{note}")
    elif "lon" not in found:
        lines.append('place = "PLACE"  # neither a point nor a place column found: name one')
    return lines


def _title_template(found: dict[str, str]) -> str:
    what = "{" + found["event_type"] + "}" if "event_type" in found else "Event"
    return what + (" at {" + found["place"] + "}" if "place" in found else "")


def _type_lines(found: dict[str, str], rows: list[dict[str, str]]) -> list[str]:
    if "event_type" not in found:
        return ["", "[values]", 'event_type = "other"  # no type column: one type for every row']
    column = found["event_type"]
    lines = [f"event_type = {_toml(column)}", "", "[event_types]",
             "# each value of the column onto Frontline's types (unmapped: other)"]  # fmt: skip
    seen = sorted({r.get(column.lower(), "").strip() for r in rows} - {""})[:200]
    lines += [f"{_toml(value)} = {_toml(_type_value(value))}" for value in seen]
    return lines


def _file_lines(found: dict[str, str], rows: list[dict[str, str]], encoding: str) -> list[str]:
    lines = ["", "[file]"]
    if encoding.lower() not in ("utf-8", "utf8"):
        lines.append(f"encoding = {_toml(encoding)}")
    for role in ("start", "end"):
        if role not in found:
            continue
        column = found[role]
        try:
            order = order_from_values(column, (r.get(column.lower(), "") for r in rows))
        except DateOrderError as exc:
            lines.append(f"# {exc}")
            lines.append('# date_format = "DD/MM/YYYY"  # or "MM/DD/YYYY": say which, then keep it')
            return lines
        if order is not None:
            fmt = "DD/MM/YYYY" if order == "DMY" else "MM/DD/YYYY"
            lines.append(f"date_format = {_toml(fmt)}  # proved by the values of {column}")
            return lines
    return lines if len(lines) > 2 else []
