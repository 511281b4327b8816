"""What schemathesis is told about the rules the OpenAPI document can only describe in words.

Each parameter's grammar is in the document (app/web/contract.py). A few rules are not a
grammar: a latitude's range inside a `bbox` text, `radius` required with `near`, a calendar's
days, a cursor belonging to its `sortby`, a `filter` being CQL2, a place having to exist, an
interval's end not before its start. Every one is stated in the parameter's description; this
hook gives a request that follows the grammar the values those rules allow, as it is sent, so
that schemathesis's "schema-valid request rejected" means the document is wrong. It never
touches a value that breaks the grammar: those are the negative cases, and the server must
reject them (schemathesis checks that too).
"""

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import cql2
import schemathesis
from schemathesis.generation.modes import GenerationMode

from app.domain.cql import parse_filter
from app.domain.cursors import encode_cursor
from app.domain.errors import InvalidParameter
from app.domain.names import fold_name
from app.domain.parsing import (
    BBOX_PATTERN,
    DATETIME_PATTERN,
    INSTANT_PATTERN,
    POINT_PATTERN,
    parse_bbox,
    parse_sortby,
)
from app.services.mapdata import plan_grid
from app.settings import Settings
from app.store.queries.events import EVENT_SORT_TYPES, EVENT_SORTABLE
from app.web.contract import CURSOR, TEXT
from app.web.params.events import DEFAULT_SORT
from app.web.params.places import PLACE_SORT

# Seeded places (seeds/places.json) and regions with a boundary (seeds/regions.geojson).
PLACES = ["sudzha", "Демидовка", "Demydivka", "kursk", "belgorod", "sumy", "kharkiv", "donetsk"]
REGIONS = ["Kursk Oblast", "Belgorod Oblast", "Sumy Oblast"]
SOURCES = ["isw", "ru-mod", "ua-general-staff", "reuters", "ru-milbloggers"]
EVENT_BODIES = ("/events", "/events/{event_id}", "/collections/events/items",
                "/collections/events/items/{event_id}")  # fmt: skip
FILTERS = [
    "fatalities >= 1",
    "event_type = 'shelling' OR verification IN ('claimed', 'disputed')",
    "CASEI(title) LIKE '%sudzha%' AND fatalities IS NULL",
    "S_INTERSECTS(geometry, BBOX(35.0, 50.8, 35.8, 51.3))",
    "T_INTERSECTS(INTERVAL(occurred_at, occurred_until), INTERVAL('2025-01-01', '2025-12-31'))",
    "A_OVERLAPS(tags, ('kursk-incursion', 'border'))",
]
SAMPLE = {int: 1, str: "a", datetime: "2025-03-01T00:00:00+00:00"}
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
YEAR = re.compile(r"\d{4}(?=-\d{2}-\d{2})")


def _pick(options: list[str], seed: str) -> str:
    """The same generated value always maps to the same option (shrinking stays stable)."""
    digest = hashlib.blake2b(seed.encode(), digest_size=8).hexdigest()
    return options[int(digest, 16) % len(options)]


def _matches(pattern: str, value: Any) -> bool:
    return isinstance(value, str) and re.match(pattern, value) is not None


def _clamp(text: str, limit: float) -> str:
    return repr(max(-limit, min(limit, float(text))))


def _bbox(text: str) -> str:
    """Longitudes into [-180, 180], latitudes into [-90, 90], in order; finite heights."""
    parts = [p.strip(" ") for p in text.split(",")]
    lat = (1, 3) if len(parts) == 4 else (1, 4)
    lon = (0, 2) if len(parts) == 4 else (0, 3)
    values = [_clamp(part, 1e6) for part in parts]
    for i in lon:
        values[i] = _clamp(parts[i], 180)
    for i in lat:
        values[i] = _clamp(parts[i], 90)
    low, high = sorted((float(values[lat[0]]), float(values[lat[1]])))
    values[lat[0]], values[lat[1]] = repr(low), repr(high)
    return ",".join(values)


def _point(text: str) -> str:
    lon, lat = (p.strip(" ") for p in text.split(","))
    return f"{_clamp(lon, 180)},{_clamp(lat, 90)}"


def _calendar(text: str) -> str:
    """Years 1900–2100 (far from datetime's edges, where a zone offset overflows) and days
    that exist in every month."""
    text = YEAR.sub(lambda m: str(1900 + int(m.group()) % 200), text)
    return re.sub(r"(\d{4}-\d{2})-(29|30|31)", r"\1-28", text)


def _interval(text: str) -> str:
    """A calendar-valid datetime whose interval does not end before it starts."""
    text = _calendar(text)
    if "/" not in text:
        return text
    start, end = (p.strip(" ") for p in text.split("/"))
    if start in ("", "..") or end in ("", ".."):
        return text
    return f"{start}/9999-12-31" if start[:10] >= end[:10] else text


def _cursor(operation_path: str, sortby: str | None) -> str:
    """A cursor this query could have issued: same sort keys, values of their types."""
    if operation_path.startswith(("/places", "/collections/places")):
        sort = PLACE_SORT
        types: dict[str, type] = {"id": int}
    else:
        try:
            sort = parse_sortby(sortby or DEFAULT_SORT, list(EVENT_SORTABLE))
        except InvalidParameter:  # a repeated key: the sortby is what the server refuses
            sort = parse_sortby(DEFAULT_SORT, list(EVENT_SORTABLE))
        types = dict(EVENT_SORT_TYPES)
    return encode_cursor(sort, tuple(SAMPLE[types[key.name]] for key in sort), backward=False)


def _sortby(text: str) -> str:
    """Each key once (the first time it appears)."""
    seen: dict[str, str] = {}
    for item in text.split(","):
        name = item.strip(" ").lstrip("+-")
        seen.setdefault(name, item)
    return ",".join(seen.values())


def _filter(text: str, lang: str) -> str:
    """A CQL2 expression in the language asked for; the generated text when it is one."""
    try:
        parse_filter(text, lang)
        return text
    except InvalidParameter:
        chosen = _pick(FILTERS, text)
        return chosen if lang == "cql2-text" else json.dumps(cql2.parse_text(chosen).to_json())


def _query(path: str, query: dict[str, Any]) -> dict[str, Any]:
    # A repeated parameter arrives as a list: the server reads its last value.
    q = {name: value[-1] if isinstance(value, list) and value else value
         for name, value in query.items()}  # fmt: skip
    if _matches(BBOX_PATTERN, q.get("bbox")):
        q["bbox"] = _bbox(q["bbox"])
    if _matches(POINT_PATTERN, q.get("near")):
        q["near"] = _point(q["near"])
        q.setdefault("radius", 10)
    elif "radius" in q and "near" not in q:
        q["near"] = "35.2726,51.1976"
    for name in ("updated_since", "as_of"):
        if _matches(f"^{INSTANT_PATTERN}$", q.get(name)):
            q[name] = _calendar(q[name])
    if _matches(DATETIME_PATTERN, q.get("datetime")):
        q["datetime"] = _interval(q["datetime"])
    if isinstance(q.get("sortby"), str):
        q["sortby"] = _sortby(q["sortby"])
    if _matches(CURSOR, q.get("cursor")):
        q["cursor"] = _cursor(path, q.get("sortby"))
    return _names(path, q)


def _names(path: str, q: dict[str, Any]) -> dict[str, Any]:
    """A filter in CQL2, and places, regions and searches that exist."""
    lang = q.get("filter-lang", "cql2-text")
    if _matches(TEXT, q.get("filter")) and lang in ("cql2-text", "cql2-json"):
        q["filter"] = _filter(q["filter"], lang)
    if _matches(TEXT, q.get("place")):
        q["place"] = _pick(PLACES, q["place"])
    if _matches(TEXT, q.get("within")):
        q["within"] = _pick(REGIONS, q["within"])
    places = path.startswith(("/places", "/collections/places"))
    if places and _matches(TEXT, q.get("q")) and not fold_name(q["q"]):  # no Latin or Cyrillic
        q["q"] = _pick(PLACES, q["q"])
    return q


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.astimezone(UTC) if moment.tzinfo else None
    except (ValueError, OverflowError):
        return None


def _span(fields: dict[str, Any]) -> None:
    """Calendar-valid ends, the second not before the first."""
    for name in ("occurred_at", "occurred_until"):
        if isinstance(fields.get(name), str):
            fields[name] = _calendar(fields[name])
    start, end = _instant(fields.get("occurred_at")), _instant(fields.get("occurred_until"))
    if start is not None and end is not None and end < start:
        fields["occurred_until"] = fields["occurred_at"]


def _event_body(body: Any, patch: bool) -> Any:
    """An event's span does not end before it starts, its place and sources exist. A patch
    changing one end of the span sets the other (the stored one is state)."""
    if not isinstance(body, dict):
        return body
    if "properties" in body and body["properties"] is None:
        body["properties"] = {}
    fields = body.get("properties") if "properties" in body else body
    if not isinstance(fields, dict):
        return body
    removed = fields.get("place", "kept") is None or body.get("geometry", "kept") is None
    if patch and removed:  # the event must keep a place or a point, whatever it has now
        fields["place"] = PLACES[0]
    if patch and ("occurred_at" in fields) != ("occurred_until" in fields):
        fields.setdefault("occurred_until", None)
        fields.setdefault("occurred_at", "2025-03-10T00:00:00Z")
    _span(fields)
    if isinstance(fields.get("place"), str) and fields["place"].strip():
        fields["place"] = _pick(PLACES, fields["place"])
    if isinstance(fields.get("place"), int) or isinstance(fields.get("place_id"), int):
        fields["place"] = _pick(PLACES, str(fields.pop("place_id", fields.get("place"))))
    citations = fields.get("citations")
    for citation in citations if isinstance(citations, list) else []:
        _citation(citation)
    return body


def _citation(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("source"), str):
        body["source"] = _pick(SOURCES, body["source"])
    if isinstance(body, dict) and isinstance(body.get("published_at"), str):
        body["published_at"] = _calendar(body["published_at"])
    return body


def _grid(query: dict[str, Any]) -> dict[str, Any]:
    """/stats/grid: a bbox it can bin (not across the antimeridian, with area) and a size that
    makes at most the configured number of cells, as plan_grid defines them."""
    q = dict(query)
    try:
        size = float(q.get("size", 10))  # the coverage phase sends query values as text
    except (TypeError, ValueError):
        return q  # not the grammar: a negative case, left as it is
    if not _matches(BBOX_PATTERN, q.get("bbox")) or not 0.01 <= size <= 10_000:
        return q
    try:
        plan_grid(parse_bbox(q["bbox"]), size, "square", Settings().grid_max_cells)
    except InvalidParameter as error:
        if error.parameter == "bbox":
            q["bbox"] = "35.0,50.8,35.8,51.3"
        q["size"] = 10_000
    return q


@schemathesis.hook
def filter_case(context: Any, case: Any) -> bool:
    """Drop a case schemathesis labels valid while one of its parts is one it made invalid.

    Its coverage phase (4.32) reuses an invalid If-Match (`0`) from an earlier case while
    varying the event id, and still expects acceptance: a mislabelled case, not a request the
    document calls valid."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return True
    return all(part.mode is not GenerationMode.NEGATIVE for part in meta.components.values())


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Edits the case as it is sent: schemathesis then re-checks it against the document, so
    the verdict (valid or not) is about the request that went out. Generation-time hooks miss
    values schemathesis substitutes later (from earlier responses, say)."""
    path, method = case.operation.path, case.operation.method.upper()
    if case.query:
        query = _query(path, case.query)
        if path == "/stats/grid":
            query = _grid(query)
        case.query.clear()
        case.query.update(query)
    if path.endswith("/sources") and path != "/sources":
        _citation(case.body)
    elif method in ("POST", "PUT", "PATCH") and path in EVENT_BODIES:
        _event_body(case.body, patch=method == "PATCH")
