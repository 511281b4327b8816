"""WHERE clauses of the events collection: one per filter, every value bound by name."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Text,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import EventFilter, Interval
from app.store.models import Event, EventSource, Place, Source
from app.store.models.base import XID8
from app.store.queries.common import (
    bbox_clause,
    bbox_values,
    ts,
    within_distance,
    within_values,
)
from app.store.queries.cql import cql_condition
from app.store.queries.places import descendant_ids

events = Event.__table__
places = Place.__table__
sources = Source.__table__
event_sources = EventSource.__table__


def interval_clause(during: ColumnElement[Any], interval: Interval) -> ColumnElement[bool]:
    """Spans that intersect the interval (OGC 'datetime' semantics)."""
    if interval.is_unbounded:
        return true()
    bounds = "[]" if interval.end_inclusive else "[)"
    wanted = func.tstzrange(
        _instant(interval.start, "start"), _instant(interval.end, "end"), bounds
    )
    return during.op("&&", is_comparison=True)(wanted)


def _instant(value: datetime | None, name: str) -> ColumnElement[Any]:
    """A named instant, or a typed NULL for an open end (no value to bind)."""
    return cast(null(), DateTime(timezone=True)) if value is None else ts(value, name)


def starts_before_end(interval: Interval) -> ColumnElement[bool]:
    """The event starts before the interval ends (at its end too when that is inclusive)."""
    end, start = ts(interval.end, "end"), events.c.occurred_at
    return start <= end if interval.end_inclusive else start < end


def start_bounds(interval: Interval) -> list[ColumnElement[bool]]:
    """The starts an event matching ``interval`` can have, as ranges on the (occurred_at, id)
    index: before the interval's end, and no earlier than its start minus the longest span
    stored (migration 0007; the planner evaluates that function, so it sees the range)."""
    e = events.c
    clauses: list[ColumnElement[bool]] = []
    if interval.start is not None:
        earliest = func.earliest_start_covering(ts(interval.start, "start"))
        clauses.append(e.occurred_at >= earliest)
    if interval.end is not None:
        clauses.append(starts_before_end(interval))
    return clauses


def _one_of(column: ColumnElement[Any], name: str, values: tuple[str, ...]) -> ColumnElement[bool]:
    """column = ANY(array): one parameter however many values (IN would vary the statement)."""
    return column == any_(bindparam(name, list(values), type_=ARRAY(Text)))


def event_conditions(f: EventFilter) -> list[ColumnElement[bool]]:
    """One clause per filter that is set; the caller ANDs them. Every value is bound by a
    name, the names ``event_values`` gives."""
    e = events.c
    clauses: list[ColumnElement[bool]] = []
    if not f.include_deleted:
        clauses.append(e.deleted_at.is_(None))
    if f.bbox is not None:
        clauses.append(bbox_clause(e.geom, f.bbox, "bbox"))
    if f.interval is not None:
        clauses += [interval_clause(e.during, f.interval), *start_bounds(f.interval)]
    if f.event_types:
        clauses.append(_one_of(e.event_type, "event_types", f.event_types))
    if f.verifications:
        clauses.append(_one_of(e.verification, "verifications", f.verifications))
    if f.place_ids:
        clauses.append(e.place_id.in_(descendant_ids(f.place_ids)))
    if f.min_fatalities is not None:
        clauses.append(e.fatalities >= bindparam("min_fatalities", f.min_fatalities, Integer))
    if f.cql is not None:
        clauses.append(cql_condition(f.cql)[0])
    return clauses + _change_conditions(f) + _origin_conditions(f) + _relation_conditions(f)


# Every transaction below this id has finished: a change feed that stops here has nothing
# left to come below it (a replica answers it from the transactions it has replayed).
CHANGE_HORIZON = select(func.pg_snapshot_xmin(func.pg_current_snapshot()))


def _change_conditions(f: EventFilter) -> list[ColumnElement[bool]]:
    """The change feeds: by time stamp, or by writing transaction between two tokens."""
    e = events.c
    clauses: list[ColumnElement[bool]] = []
    if f.updated_since is not None:
        clauses.append(e.updated_at > ts(f.updated_since, "updated_since"))
    if f.changes_after is not None:
        clauses.append(e.change_xid >= bindparam("changes_after", f.changes_after, XID8))
    if f.changes_before is not None:
        clauses.append(e.change_xid < bindparam("changes_before", f.changes_before, XID8))
    return clauses


def _origin_conditions(f: EventFilter) -> list[ColumnElement[bool]]:
    """Where the event came from: its dataset, its id there."""
    e = events.c
    clauses: list[ColumnElement[bool]] = []
    if f.datasets and f.external_id is None:
        clauses.append(_one_of(e.dataset, "datasets", f.datasets))
    if f.external_id is None:
        return clauses
    # A record merged into another event is found as its survivor (app.services.merges).
    origin = events.alias("origin")
    t = origin.c
    survivor = case((t.merged_into.is_(None), t.id), else_=func.event_survivor(t.id))
    found = select(survivor).where(t.external_id == bindparam("external_id", f.external_id, Text))
    if f.datasets:
        found = found.where(_one_of(t.dataset, "datasets", f.datasets))
    return [e.id.in_(found)]


def _relation_conditions(f: EventFilter) -> list[ColumnElement[bool]]:
    """Filters that look beyond the event row: region, circle, citations, actors, text."""
    e = events.c
    clauses: list[ColumnElement[bool]] = []
    if f.within_place_id is not None:
        region = bindparam("within_place_id", f.within_place_id, BigInteger)
        boundary = select(places.c.boundary).where(places.c.id == region)
        clauses.append(func.ST_Intersects(e.geom, boundary.scalar_subquery()))
    if f.near is not None and f.radius_m is not None:
        clauses.append(within_distance(e.geom, f.near[0], f.near[1], f.radius_m, "near"))
    if f.sources:
        cited = (
            select(event_sources.c.id)
            .join(sources, sources.c.id == event_sources.c.source_id)
            .where(event_sources.c.event_id == e.id, _one_of(sources.c.slug, "sources", f.sources))
        )
        clauses.append(cited.exists())
    for i, actor in enumerate(f.actors):
        name = func.unnest(e.actors).table_valued("name")
        pattern = bindparam(f"actor{i}", _contains(actor), Text)
        clauses.append(select(name.c.name).where(name.c.name.ilike(pattern, escape="\\")).exists())
    if f.text is not None:
        query = func.websearch_to_tsquery("simple", bindparam("text", f.text, Text))
        clauses.append(SEARCH_DOCUMENT.op("@@")(query))
    return clauses


def event_values(f: EventFilter) -> dict[str, Any]:
    """The value of every parameter ``event_conditions(f)`` binds, by name: what a statement
    cached by shape needs to answer ``f``."""
    values: dict[str, Any] = {}
    if f.bbox is not None:
        values |= bbox_values(f.bbox, "bbox")
    if f.interval is not None:
        if f.interval.start is not None:
            values["start"] = f.interval.start
        if f.interval.end is not None:
            values["end"] = f.interval.end
    named_lists = {"event_types": f.event_types, "verifications": f.verifications,
                   "place_ids": f.place_ids, "sources": f.sources,
                   "datasets": f.datasets}  # fmt: skip
    values |= {name: list(items) for name, items in named_lists.items() if items}
    named = {"min_fatalities": f.min_fatalities, "updated_since": f.updated_since,
             "changes_after": f.changes_after, "changes_before": f.changes_before,
             "within_place_id": f.within_place_id, "text": f.text,
             "external_id": f.external_id}  # fmt: skip
    values |= {name: value for name, value in named.items() if value is not None}
    if f.near is not None and f.radius_m is not None:
        values |= within_values(f.near[0], f.near[1], f.radius_m, "near")
    values |= {f"actor{i}": _contains(actor) for i, actor in enumerate(f.actors)}
    if f.cql is not None:
        values |= cql_condition(f.cql)[1]
    return values


def _contains(text: str) -> str:
    """An ILIKE pattern matching ``text`` anywhere, literally."""
    return "%" + escape_like(text) + "%"


def escape_like(text: str) -> str:
    """Make user text literal inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# The text-search document; migration 0002 indexes exactly this expression.
# Constants are literal SQL (not bound parameters) so the planner can match the index.
SEARCH_DOCUMENT = func.to_tsvector(
    literal_column("'simple'::regconfig"),
    func.coalesce(events.c.title, literal_column("''"))
    .op("||")(literal_column("' '"))
    .op("||")(func.coalesce(events.c.description, literal_column("''"))),
)
