"""CQL2 filters (OGC API – Features Part 3, CQL2 1.0): parsed by the `cql2` library, checked
here against the queryables and their types, so a bad filter is a 400 naming its part.

The checked expression stays in CQL2-JSON; app.store.queries.cql turns it into SQL
conditions over the queryables' columns, every literal a bound value. No text from the client
or the library ever becomes SQL.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

import cql2
import shapely
import shapely.geometry

from app.domain.errors import InvalidParameter
from app.domain.vocab import CRS84

LANGUAGES = ("cql2-text", "cql2-json")


class Type(Enum):
    STRING = "a string"
    NUMBER = "a number"
    BOOLEAN = "a boolean"
    INSTANT = "an instant"
    INTERVAL = "an interval"
    GEOMETRY = "a geometry"
    ARRAY = "an array"
    NULL = "null"


# The events' queryables (GET /collections/events/queryables) and their CQL2 types.
EVENT_QUERYABLES: dict[str, Type] = {
    "geometry": Type.GEOMETRY,
    **dict.fromkeys(("title", "description", "event_type", "sub_event_type", "verification",
                     "time_precision", "location_precision", "place_slug", "dataset",
                     "external_id"), Type.STRING),
    **dict.fromkeys(("fatalities", "source_count"), Type.NUMBER),
    **dict.fromkeys(("occurred_at", "occurred_until", "created_at", "updated_at"), Type.INSTANT),
    **dict.fromkeys(("actors", "tags"), Type.ARRAY),
}  # fmt: skip

COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
ORDERED = (Type.STRING, Type.NUMBER, Type.INSTANT)
SPATIAL = ("s_intersects", "s_equals", "s_disjoint", "s_touches", "s_within", "s_overlaps",
           "s_crosses", "s_contains")  # fmt: skip
TEMPORAL = ("t_after", "t_before", "t_contains", "t_disjoint", "t_during", "t_equals",
            "t_finishedby", "t_finishes", "t_intersects", "t_meets", "t_metby",
            "t_overlappedby", "t_overlaps", "t_startedby", "t_starts")  # fmt: skip
ARRAYS = ("a_equals", "a_contains", "a_containedby", "a_overlaps")
GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                  "MultiPolygon", "GeometryCollection")  # fmt: skip


@dataclass(frozen=True)
class CqlFilter:
    """A checked CQL2 expression, as CQL2-JSON text (frozen, comparable)."""

    json: str

    @property
    def tree(self) -> Any:
        return json.loads(self.json)


def parse_filter(text: str, lang: str = "cql2-text", crs: str | None = None) -> CqlFilter:
    """The filter, parsed and checked; InvalidParameter naming the part that is wrong."""
    if lang not in LANGUAGES:
        raise InvalidParameter("filter-lang", f"must be one of {', '.join(LANGUAGES)}")
    if crs not in (None, CRS84):
        raise InvalidParameter("filter-crs", f"only {CRS84} (longitude, latitude) is supported")
    try:
        expr = cql2.parse_text(text) if lang == "cql2-text" else cql2.parse_json(text)
        tree = expr.to_json()
    except (ValueError, cql2.ParseError) as exc:
        first = str(exc).strip().splitlines()
        raise InvalidParameter("filter", f"not valid {lang}: {' '.join(first)[:300]}") from None
    if _check(tree) is not Type.BOOLEAN:
        raise InvalidParameter("filter", f"{_text(tree)} is not a condition")
    return CqlFilter(json.dumps(tree, separators=(",", ":"), sort_keys=True))


def _text(node: Any) -> str:
    """A part of the expression as CQL2 text, for messages."""
    try:
        return f"`{cql2.Expr(node).to_text()}`"
    except Exception:  # a message must not fail
        return f"`{json.dumps(node)}`"


def _fail(node: Any, why: str) -> InvalidParameter:
    return InvalidParameter("filter", f"{_text(node)}: {why}")


def _check(node: Any) -> Type:
    """The type of a node, after checking its parts (InvalidParameter when wrong)."""
    if isinstance(node, bool):  # before int: a bool is an int in Python
        return Type.BOOLEAN
    if isinstance(node, int | float):
        return Type.NUMBER
    if isinstance(node, str):
        return Type.STRING
    if node is None:
        return Type.NULL
    if isinstance(node, list):
        return _check_array(node)
    if isinstance(node, dict):
        return _check_object(node)
    raise _fail(node, "not an expression")


def _check_array(node: list[Any]) -> Type:
    for item in node:
        if _check(item) not in (Type.STRING, Type.NUMBER, Type.BOOLEAN, Type.INSTANT):
            raise _fail(node, "array items must be strings, numbers, booleans or instants")
    return Type.ARRAY


def _check_object(node: dict[str, Any]) -> Type:
    if "property" in node:
        return _check_property(node)
    if "op" in node:
        op = str(node["op"]).lower()
        check = _OPERATORS.get(op)
        if check is None:
            raise _fail(node, f"unsupported operator {op!r} (/conformance lists what is evaluated)")
        return check(node, op, node.get("args") or [])
    if "timestamp" in node or "date" in node:
        instant(node)
        return Type.INSTANT
    if "interval" in node:
        _check_interval(node)
        return Type.INTERVAL
    if "bbox" in node:
        return _check_bbox(node)
    if node.get("type") in GEOMETRY_TYPES:
        return _check_geometry(node)
    raise _fail(node, "not an expression")


def _check_property(node: dict[str, Any]) -> Type:
    name = node["property"]
    if name not in EVENT_QUERYABLES:
        known = ", ".join(EVENT_QUERYABLES)
        raise _fail(node, f"unknown property {name!r}; the queryables are {known}")
    return EVENT_QUERYABLES[name]


def _check_bbox(node: dict[str, Any]) -> Type:
    box = node["bbox"]
    if len(box) != 4 or box[0] > box[2] or box[1] > box[3]:
        raise _fail(node, "a BBOX here is minx, miny, maxx, maxy (2-D, CRS84)")
    return Type.GEOMETRY


def _check_geometry(node: dict[str, Any]) -> Type:
    try:
        geometry = shapely.geometry.shape(node)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError):
        raise _fail(node, "not a valid GeoJSON geometry") from None
    if geometry.is_empty or not shapely.is_valid(geometry):
        raise _fail(node, f"not a valid geometry ({shapely.is_valid_reason(geometry)})")
    return Type.GEOMETRY


def instant(node: Any) -> datetime:
    """A TIMESTAMP('…') or DATE('…') literal (a date is its first instant, UTC)."""
    try:
        if "timestamp" in node:
            moment = datetime.fromisoformat(node["timestamp"].replace("Z", "+00:00"))
            return moment.astimezone(UTC)  # raises for a zone pushing it out of years 1–9999
        day = date.fromisoformat(node["date"])
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        raise _fail(node, "not an RFC 3339 timestamp or date in years 1 to 9999") from None


def interval_end(value: Any) -> datetime | None:
    """An end of an INTERVAL literal: None for '..' (open)."""
    if value == "..":
        return None
    if isinstance(value, str):
        key = "timestamp" if "T" in value else "date"
        return instant({key: value})
    return instant(value)


# The event's span, the one interval of properties: [occurred_at, occurred_until).
EVENT_SPAN_ENDS = [{"property": "occurred_at"}, {"property": "occurred_until"}]


def _check_interval(node: dict[str, Any]) -> None:
    ends = node["interval"]
    if ends == EVENT_SPAN_ENDS:
        return
    if len(ends) != 2:
        raise _fail(node, "an INTERVAL has a start and an end")
    for end in ends:
        if isinstance(end, dict) and "property" in end:
            raise _fail(node, "the only interval of properties is the event's span, "
                              "INTERVAL(occurred_at, occurred_until)")  # fmt: skip
        interval_end(end)


def _logical(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    count = 1 if op == "not" else max(len(args), 2)
    _expect(node, args, [Type.BOOLEAN] * count)
    return Type.BOOLEAN


def _text_function(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    _expect(node, args, [Type.STRING])
    return Type.STRING


def _is_null(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    if len(args) != 1:
        raise _fail(node, "IS NULL takes one operand")
    _check(args[0])
    return Type.BOOLEAN


def _like(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    _expect(node, args, [Type.STRING, Type.STRING])
    return Type.BOOLEAN


def _between(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    if len(args) != 3:  # CQL2's BETWEEN is numeric: for instants, >= and <=, or T_DURING
        raise _fail(node, "BETWEEN compares a number with two numbers")
    _expect(node, args, [Type.NUMBER] * 3)
    return Type.BOOLEAN


def _in(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    if len(args) != 2 or not isinstance(args[1], list):
        raise _fail(node, "IN takes an operand and a list")
    kind = _check(args[0])
    for item in args[1]:
        if _check(item) is not kind:
            raise _fail(node, f"every item of the list must be {kind.value}")
    return Type.BOOLEAN


def _spatial(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    _expect(node, args, [Type.GEOMETRY, Type.GEOMETRY])
    return Type.BOOLEAN


def _temporal(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    if len(args) != 2 or any(_check(a) not in (Type.INSTANT, Type.INTERVAL) for a in args):
        raise _fail(node, f"{op.upper()} relates two instants or intervals")
    return Type.BOOLEAN


def _array(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    _expect(node, args, [Type.ARRAY, Type.ARRAY])
    return Type.BOOLEAN


def _comparison(node: dict[str, Any], op: str, args: list[Any]) -> Type:
    if len(args) != 2:
        raise _fail(node, f"{op} takes two operands")
    left, right = _check(args[0]), _check(args[1])
    if left is not right:
        raise _fail(node, f"compares {left.value} with {right.value}")
    if left not in ORDERED and not (left is Type.BOOLEAN and op in ("=", "<>")):
        raise _fail(node, f"{left.value} cannot be compared with {op}")
    return Type.BOOLEAN


def _expect(node: dict[str, Any], args: list[Any], types: list[Type]) -> None:
    if len(args) != len(types):
        raise _fail(node, f"takes {len(types)} operands, not {len(args)}")
    for arg, wanted in zip(args, types, strict=True):
        found = _check(arg)
        if found is not wanted:
            raise _fail(node, f"{_text(arg)} is {found.value}, not {wanted.value}")


_Check = Callable[[dict[str, Any], str, list[Any]], Type]
_OPERATORS: dict[str, _Check] = {
    **dict.fromkeys(("and", "or", "not"), _logical),
    "casei": _text_function,
    **dict.fromkeys(COMPARISONS, _comparison),
    "isnull": _is_null, "like": _like, "between": _between, "in": _in,
    **dict.fromkeys(SPATIAL, _spatial),
    **dict.fromkeys(TEMPORAL, _temporal),
    **dict.fromkeys(ARRAYS, _array),
}  # fmt: skip


Box = tuple[float, float, float, float]
Span = tuple[datetime | None, datetime | None]


def native_parts(f: CqlFilter) -> tuple[Box | None, Span | None, CqlFilter | None]:
    """The top-level conjuncts `S_INTERSECTS(geometry, BBOX(…))` and `T_INTERSECTS(INTERVAL(
    occurred_at, occurred_until), INTERVAL(…))` (the first of each) as the `bbox` and
    `datetime` they mean, and what is left: read as the parameters, a filter gets their
    indexes and their page plans (the slices), not a generic condition."""
    tree = f.tree
    conjuncts = tree["args"] if isinstance(tree, dict) and tree.get("op") == "and" else [tree]
    box: Box | None = None
    span: Span | None = None
    rest = []
    for part in conjuncts:
        if box is None and (found := _box_of(part)) is not None:
            box = found
        elif span is None and (window := _window_of(part)) is not None:
            span = window
        else:
            rest.append(part)
    left = None
    if rest:
        tree = rest[0] if len(rest) == 1 else {"op": "and", "args": rest}
        left = CqlFilter(json.dumps(tree, separators=(",", ":"), sort_keys=True))
    return box, span, left


def _box_of(node: Any) -> Box | None:
    if not (isinstance(node, dict) and node.get("op") == "s_intersects"):
        return None
    args = node["args"]
    if args[0] == {"property": "geometry"} and isinstance(args[1], dict) and "bbox" in args[1]:
        x1, y1, x2, y2 = (float(v) for v in args[1]["bbox"])
        return x1, y1, x2, y2
    return None


def _window_of(node: Any) -> Span | None:
    if not (isinstance(node, dict) and node.get("op") == "t_intersects"):
        return None
    args = node["args"]
    other = args[1]
    literal = isinstance(other, dict) and other.get("interval") not in (None, EVENT_SPAN_ENDS)
    if args[0] == {"interval": EVENT_SPAN_ENDS} and literal:
        start, end = (interval_end(v) for v in other["interval"])
        return start, end
    return None
