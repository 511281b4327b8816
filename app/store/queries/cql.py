"""A checked CQL2 expression (app.domain.cql) as one SQL condition over the events.

Properties become the queryables' columns; every literal is a value bound by position
(`cql0`, `cql1`, … in the order of the expression), so a statement cached for an expression's
``skeleton`` answers every expression of that shape. Nothing of the expression's text is
spliced into SQL: operators map to fixed SQLAlchemy constructs, names to known columns.
"""

import json
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    Text,
    and_,
    any_,
    bindparam,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from app.domain.cql import (
    EVENT_SPAN_ENDS,
    SPATIAL,
    TEMPORAL,
    CqlFilter,
    instant,
    interval_end,
)
from app.store.models import Event, Place

events = Event.__table__
places = Place.__table__

Sql = ColumnElement[Any]
Pair = tuple[Sql, Sql]  # an instant or interval as its (start, end)
NEVER, FOREVER = "'-infinity'::timestamptz", "'infinity'::timestamptz"


@lru_cache(maxsize=256)
def cql_condition(f: CqlFilter) -> tuple[ColumnElement[bool], dict[str, Any]]:
    """The expression's condition and the values it binds, by name (read-only; translated
    once for the statement and for its values, and again only for a new expression)."""
    sql = _Translation()
    return sql.condition(f.tree), sql.values


def skeleton(f: CqlFilter) -> str:
    """The expression with its literals replaced by their kind: equal for two expressions
    whose statements differ only in the bound values."""
    return json.dumps(_skeleton(f.tree), separators=(",", ":"))


def _skeleton(node: Any) -> Any:
    if isinstance(node, list):
        return ["list", str(_list(node)[1])]
    if not isinstance(node, dict):
        return type(node).__name__
    if "property" in node:
        return node
    if "op" in node:
        return {"op": node["op"], "args": [_skeleton(a) for a in node.get("args") or []]}
    if "interval" in node:
        ends = node["interval"]
        return node if ends == EVENT_SPAN_ENDS else {"interval": [e == ".." for e in ends]}
    return next(iter(sorted(node)))  # timestamp, date, bbox or a geometry's members


class _Translation:
    """One expression's SQL, collecting its values as it goes."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def bind(self, value: Any, type_: Any) -> Sql:
        name = f"cql{len(self.values)}"
        self.values[name] = value
        return bindparam(name, value, type_=type_)

    def condition(self, node: Any) -> ColumnElement[bool]:
        if isinstance(node, bool):
            return true() if node else not_(true())
        op = str(node["op"]).lower()
        args = node.get("args") or []
        build = _CONDITIONS.get(op)
        if build is not None:
            return build(self, op, args)
        if op in SPATIAL:
            return _SPATIAL[op](self.operand(args[0]), self.operand(args[1]))
        if op in TEMPORAL:
            return self.temporal(op, args[0], args[1])
        raise AssertionError(f"unchecked operator {op}")  # app.domain.cql refuses it first

    def operand(self, node: Any) -> Sql:
        """A property, a literal or a CASEI() of one, as SQL."""
        if isinstance(node, dict):
            if "property" in node:
                return _column(node["property"])
            if "op" in node:  # casei, the one function that yields a value
                return func.lower(self.operand(node["args"][0]))
            if "timestamp" in node or "date" in node:
                return self.bind(instant(node), DateTime(timezone=True))
            if "bbox" in node:
                x1, y1, x2, y2 = (self.bind(float(v), Float) for v in node["bbox"])
                return func.ST_MakeEnvelope(x1, y1, x2, y2, 4326)
            geometry = self.bind(json.dumps(node), Text)
            return func.ST_SetSRID(func.ST_GeomFromGeoJSON(geometry), 4326)
        if isinstance(node, list):
            items, item_type = _list(node)
            return self.bind(items, ARRAY(item_type))
        if isinstance(node, bool):
            return true() if node else not_(true())
        return self.bind(node, Float if isinstance(node, int | float) else Text)

    def temporal(self, op: str, left: Any, right: Any) -> ColumnElement[bool]:
        if op in ("t_intersects", "t_disjoint") and (_is_span(left) or _is_span(right)):
            # The event's span is half-open, as the `datetime` parameter reads it.
            start, end = self.pair(right if _is_span(left) else left)
            hits = events.c.during.op("&&", is_comparison=True)(func.tstzrange(start, end, "[]"))
            return hits if op == "t_intersects" else not_(hits)
        return _ALLEN[op](self.pair(left), self.pair(right))

    def pair(self, node: Any) -> Pair:
        if "property" in node:
            column = _column(node["property"])
            return column, column
        if "interval" not in node:
            value = self.bind(instant(node), DateTime(timezone=True))
            return value, value
        if node["interval"] == EVENT_SPAN_ENDS:
            e = events.c
            return e.occurred_at, func.coalesce(e.occurred_until, e.occurred_at)
        start, end = (interval_end(v) for v in node["interval"])
        return self._end(start, NEVER), self._end(end, FOREVER)

    def _end(self, value: datetime | None, open_end: str) -> Sql:
        return literal_column(open_end) if value is None else self.bind(value, DateTime(True))


def _is_span(node: Any) -> bool:
    return isinstance(node, dict) and node.get("interval") == EVENT_SPAN_ENDS


def _list(items: list[Any]) -> tuple[list[Any], Any]:
    """An array literal's values and their SQL type (app.domain.cql made them all one type)."""
    first = items[0] if items else ""
    if isinstance(first, dict):
        return [instant(item) for item in items], DateTime(timezone=True)
    if isinstance(first, int | float) and not isinstance(first, bool):
        return [float(item) for item in items], Float
    return items, Text


def _column(name: str) -> Sql:
    if name == "place_slug":
        return select(places.c.slug).where(places.c.id == events.c.place_id).scalar_subquery()
    return events.c.geom if name == "geometry" else events.c[name]


def _logical(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    parts = [sql.condition(a) for a in args]
    return {"and": and_, "or": or_}[op](*parts) if op != "not" else not_(parts[0])


def _compare(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    left, right = sql.operand(args[0]), sql.operand(args[1])
    return left.op(op, is_comparison=True)(right)


def _is_null(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    return sql.operand(args[0]).is_(None)


def _like(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    return sql.operand(args[0]).like(sql.operand(args[1]), escape="\\")


def _between(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    value, low, high = (sql.operand(a) for a in args)
    return value.between(low, high)


def _in(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    return sql.operand(args[0]) == any_(sql.operand(args[1]))


def _array(sql: _Translation, op: str, args: list[Any]) -> ColumnElement[bool]:
    left, right = sql.operand(args[0]), sql.operand(args[1])
    if op == "a_equals":  # the same items in any order (as the cql2 library reads it)
        contains = left.op("@>", is_comparison=True)(right)
        return and_(contains, left.op("<@", is_comparison=True)(right))
    operator = {"a_contains": "@>", "a_containedby": "<@", "a_overlaps": "&&"}
    return left.op(operator[op], is_comparison=True)(right)


_Condition = Callable[[_Translation, str, list[Any]], ColumnElement[bool]]
_CONDITIONS: dict[str, _Condition] = {
    **dict.fromkeys(("and", "or", "not"), _logical),
    **dict.fromkeys(("=", "<>", "<", "<=", ">", ">="), _compare),
    "isnull": _is_null, "like": _like, "between": _between, "in": _in,
    **dict.fromkeys(("a_equals", "a_contains", "a_containedby", "a_overlaps"), _array),
}  # fmt: skip

_SPATIAL: dict[str, Callable[[Sql, Sql], ColumnElement[bool]]] = {
    "s_intersects": func.ST_Intersects, "s_equals": func.ST_Equals,
    "s_disjoint": func.ST_Disjoint, "s_touches": func.ST_Touches, "s_within": func.ST_Within,
    "s_overlaps": func.ST_Overlaps, "s_crosses": func.ST_Crosses,
    "s_contains": func.ST_Contains,
}  # fmt: skip


# CQL2's temporal relations (Allen's, as the standard's table defines them) on (start, end).
_ALLEN: dict[str, Callable[[Pair, Pair], ColumnElement[bool]]] = {
    "t_after": lambda a, b: a[0] > b[1],
    "t_before": lambda a, b: a[1] < b[0],
    "t_contains": lambda a, b: and_(a[0] < b[0], a[1] > b[1]),
    "t_disjoint": lambda a, b: or_(a[1] < b[0], a[0] > b[1]),
    "t_during": lambda a, b: and_(a[0] > b[0], a[1] < b[1]),
    "t_equals": lambda a, b: and_(a[0] == b[0], a[1] == b[1]),
    "t_finishedby": lambda a, b: and_(a[0] < b[0], a[1] == b[1]),
    "t_finishes": lambda a, b: and_(a[0] > b[0], a[1] == b[1]),
    "t_intersects": lambda a, b: and_(a[0] <= b[1], a[1] >= b[0]),
    "t_meets": lambda a, b: a[1] == b[0],
    "t_metby": lambda a, b: a[0] == b[1],
    "t_overlappedby": lambda a, b: and_(a[0] > b[0], a[0] < b[1], a[1] > b[1]),
    "t_overlaps": lambda a, b: and_(a[0] < b[0], a[1] > b[0], a[1] < b[1]),
    "t_startedby": lambda a, b: and_(a[0] == b[0], a[1] > b[1]),
    "t_starts": lambda a, b: and_(a[0] == b[0], a[1] < b[1]),
}
