"""SQL for the events collection: sort keys, keyset paging, feature JSON, pages, CSV.

The WHERE clauses of its filters are built by ``app.store.queries.event_filters``.
"""

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import Cursor, EventFilter, Page, SortKey
from app.store.queries import slices
from app.store.queries.common import (
    feature_json,
    json_object,
    param,
)
from app.store.queries.event_filters import (
    event_conditions,
    event_sources,
    events,
    places,
    sources,
)

# Public sort names -> expressions; NULL-able columns are coalesced so keysets stay total.
EVENT_SORTABLE: Mapping[str, ColumnElement[Any]] = {
    "id": events.c.id,
    "occurred_at": events.c.occurred_at,
    "occurred_until": func.coalesce(events.c.occurred_until, events.c.occurred_at),
    "updated_at": events.c.updated_at,
    "created_at": events.c.created_at,
    "event_type": events.c.event_type,
    "verification": events.c.verification,
    "fatalities": func.coalesce(events.c.fatalities, -1),
    "title": events.c.title,
}


EVENT_SORT_TYPES: Mapping[str, type] = {
    "id": int,
    "occurred_at": datetime,
    "occurred_until": datetime,
    "updated_at": datetime,
    "created_at": datetime,
    "event_type": str,
    "verification": str,
    "fatalities": int,
    "title": str,
}


def _citations_compact() -> ColumnElement[Any]:
    s, es = sources.c, event_sources.c
    item = func.json_build_object("source", s.slug, "stance", es.stance)
    agg = func.json_agg(aggregate_order_by(item, es.published_at.asc().nulls_last(), es.id))
    return (
        select(func.coalesce(agg, func.json_build_array()))
        .select_from(event_sources.join(sources, s.id == es.source_id))
        .where(es.event_id == events.c.id)
        .scalar_subquery()
    )


def event_properties() -> dict[str, ColumnElement[Any]]:
    """Every public event property, in output order."""
    e, p = events.c, places.c
    return {
        "title": e.title,
        "description": e.description,
        "event_type": e.event_type,
        "sub_event_type": e.sub_event_type,
        "actors": e.actors,
        "fatalities": e.fatalities,
        "occurred_at": e.occurred_at,
        "occurred_until": e.occurred_until,
        "time_precision": e.time_precision,
        "place_id": e.place_id,
        "place_slug": p.slug,
        "place_name": p.name,
        "location_precision": e.location_precision,
        "verification": e.verification,
        "source_count": e.source_count,
        "citations": _citations_compact(),
        "tags": e.tags,
        "dataset": e.dataset,
        "external_id": e.external_id,
        "version": e.version,
        "created_at": e.created_at,
        "updated_at": e.updated_at,
        "deleted_at": e.deleted_at,
    }


EVENT_PROPERTY_NAMES: tuple[str, ...] = tuple(event_properties())


def keyset_clause(sort: tuple[SortKey, ...], cursor: Cursor) -> ColumnElement[bool]:
    """Rows strictly after (or, going backward, before) the cursor in the sort order."""
    exprs = [EVENT_SORTABLE[key.name] for key in sort]
    values = [param(f"after{i}", cursor.values[i], exprs[i].type) for i in range(len(exprs))]
    directions = {key.descending != cursor.backward for key in sort}
    if len(directions) == 1:
        descending = directions.pop()
        left, right = tuple_(*exprs), tuple_(*values)
        return left < right if descending else left > right
    ors: list[ColumnElement[bool]] = []
    for i, key in enumerate(sort):
        equal = [exprs[j] == values[j] for j in range(i)]
        after = exprs[i] < values[i] if key.descending != cursor.backward else exprs[i] > values[i]
        ors.append(and_(*equal, after))
    return or_(*ors) if ors else false()


def page_values(page: Page) -> dict[str, Any]:
    """The value of every parameter a page binds beyond its filter: the limit and the cursor."""
    cursor = () if page.cursor is None else page.cursor.values
    return {"limit": page.limit, **{f"after{i}": v for i, v in enumerate(cursor)}}


def order_by(sort: tuple[SortKey, ...], backward: bool) -> list[ColumnElement[Any]]:
    out: list[ColumnElement[Any]] = []
    for key in sort:
        expr = EVENT_SORTABLE[key.name]
        out.append(expr.desc() if key.descending != backward else expr.asc())
    return out


def tombstone_properties() -> dict[str, ColumnElement[Any]]:
    """What a deleted event still says in a change feed."""
    e = events.c
    return {"deleted_at": e.deleted_at, "merged_into": e.merged_into, "version": e.version,
            "updated_at": e.updated_at}  # fmt: skip


@lru_cache(maxsize=128)
def event_feature(
    property_names: tuple[str, ...] | None, include_deleted: bool, stored: bool
) -> ColumnElement[str]:
    """The Feature text of the current row, with the chosen properties.

    ``stored``: the text migrations 0009 and 0011 keep for every event and every version of
    it (every property): read, not built, and the page needs no join to places. A chosen
    property list is built here."""
    if stored:
        feature: ColumnElement[str] = events.c.feature
    else:
        props = event_properties()
        chosen = props if property_names is None else {n: props[n] for n in property_names}
        feature = feature_json(json_object(chosen), events.c.geom, events.c.id)
    if include_deleted:
        tombstone = feature_json(json_object(tombstone_properties()), events.c.geom, events.c.id)
        feature = case((events.c.deleted_at.is_not(None), tombstone), else_=feature)
    return feature


def events_page(
    f: EventFilter, page: Page, property_names: tuple[str, ...] | None = None, stored: bool = True
) -> Select[Any]:
    """One page of events: feature text plus the sort-key values of each row, limit + 1 rows.

    With every property the stored Feature text is read (of the event, or of the version
    ``as_of`` reads); ``stored=False`` builds it from the row joined to its place."""
    stored = stored and property_names is None
    feature = event_feature(property_names, f.include_deleted, stored).label("feature")
    keys = _sort_keys(page)
    conditions = event_conditions(f)
    if page.cursor is not None:
        conditions.append(keyset_clause(page.sort, page.cursor))
    # Joining places for every match before the sort cost medium pages 20% (45.7 -> 37.1 ms).
    rows = events if stored else events.outerjoin(places, places.c.id == events.c.place_id)
    return (
        select(feature, *keys)
        .select_from(rows)
        .where(and_(true(), *conditions))
        .order_by(*order_by(page.sort, page.backward))
        .limit(_limit(page) + 1)
    )


def _limit(page: Page) -> ColumnElement[int]:
    return bindparam("limit", page.limit, Integer)


def _sort_keys(page: Page) -> list[ColumnElement[Any]]:
    return [EVENT_SORTABLE[key.name].label(f"k{i}") for i, key in enumerate(page.sort)]


def reads_slices(f: EventFilter, page: Page, property_names: tuple[str, ...] | None) -> bool:
    """Whether ``page_rows`` reads the page slice by slice (app.store.queries.slices)."""
    return property_names is None and slices.applies(f, page)


def page_rows(
    f: EventFilter, page: Page, property_names: tuple[str, ...] | None = None,
    past: bool = False,
) -> Select[Any]:  # fmt: skip
    """``events_page``, or for a bbox + window page in time order the same rows read a slice of
    time at a time, unless the box is one the plain statement reads cheaply (``slices.gated``;
    the statement also binds ``slices.slice_values``). ``past``: the page will read the
    versions valid at an instant (``asof``)."""
    plain = events_page(f, page, property_names)
    if not reads_slices(f, page, property_names):
        return plain
    return slices.gated(plain, sliced_rows(f, page), f, _limit(page) + 1, past)


def sliced_rows(f: EventFilter, page: Page) -> Select[Any]:
    """The rows of ``events_page`` (every property) read slice by slice, ungated."""
    feature = event_feature(None, f.include_deleted, True).label("feature")
    after = None if page.cursor is None else keyset_clause(page.sort, page.cursor)
    order = order_by(page.sort, page.backward)
    return slices.sliced_page(f, [feature, *_sort_keys(page)], after, order, _limit(page))


def joined_page(page_rows: Select[Any], page: Page) -> Select[Any]:
    """A forward page of Feature rows (``events_page``) as one row: the Features joined with
    commas as UTF-8 bytes, how many rows came (limit + 1 means there is more), the byte length
    of that extra Feature (the caller cuts it off the end), and the sort keys of the first and
    last Feature kept. No per-row decoding in Python.

    The aggregates read the rows in the order of the sorted subquery (PostgreSQL feeds an
    aggregate its input in order when nothing at its level joins or sorts). Numbering the rows
    with a window function instead, to filter the extra one out, changed the plans of some
    medium pages (328 -> 426 ms for eight); an ORDER BY inside the aggregates sorted the
    page's text again, spilling 10 000 Features to disk."""
    rows = page_rows.subquery("page_rows")
    kept = func.least(func.count(), _limit(page))
    body = func.string_agg(rows.c.feature, literal_column("','"))

    def keys(i: int) -> ColumnElement[Any]:
        return func.array_agg(rows.c[f"k{i}"])

    width = range(len(page.sort))
    return select(
        func.convert_to(body, literal_column("'UTF8'")).label("body"),
        func.count().label("rows"),
        func.array_agg(func.octet_length(rows.c.feature))[_limit(page) + 1].label("extra_bytes"),
        *[keys(i)[1].label(f"first{i}") for i in width],
        *[keys(i)[kept].label(f"last{i}") for i in width],
    )


def events_count(f: EventFilter) -> Select[Any]:
    """numberMatched: how many events the filter selects (asked for explicitly: it is a scan)."""
    return select(func.count()).select_from(events).where(and_(true(), *event_conditions(f)))


def _citations_full() -> ColumnElement[Any]:
    s, es = sources.c, event_sources.c
    item = func.json_build_object(
        "source",
        s.slug,
        "source_name",
        s.name,
        "source_kind",
        s.kind,
        "stance",
        es.stance,
        "url",
        es.url,
        "published_at",
        es.published_at,
        "excerpt",
        es.excerpt,
        "merged_from",  # the merged event this citation came with (app.services.merges)
        es.merged_from,
    )
    agg = func.json_agg(aggregate_order_by(item, es.published_at.asc().nulls_last(), es.id))
    return (
        select(func.coalesce(agg, func.json_build_array()))
        .select_from(event_sources.join(sources, s.id == es.source_id))
        .where(es.event_id == events.c.id)
        .scalar_subquery()
    )


def _survivor() -> ColumnElement[Any]:
    """The live event a merged one's reports went to (NULL for an event not merged)."""
    merged = events.c.merged_into
    return case((merged.is_(None), null()), else_=func.event_survivor(events.c.id)).label(
        "survivor"
    )


def event_lookup(event_id: int) -> Select[Any]:
    """One event as a Feature with its full citations, and its deletion time."""
    props = event_properties()
    props["citations"] = _citations_full()
    feature = feature_json(json_object(props), events.c.geom, events.c.id)
    return (
        select(feature.label("feature"), events.c.deleted_at, events.c.version, _survivor())
        .select_from(events.outerjoin(places, places.c.id == events.c.place_id))
        .where(events.c.id == event_id)
    )


def csv_columns(property_names: tuple[str, ...] | None) -> dict[str, ColumnElement[Any]]:
    """Flat CSV columns: id and lon/lat first, provenance flattened, lists joined with ';'."""
    props = event_properties()
    del props["citations"]
    es = event_sources.c
    first_url = (
        select(es.url)
        .where(es.event_id == events.c.id, es.url.is_not(None))
        .order_by(es.published_at.asc().nulls_last(), es.id)
        .limit(1)
        .scalar_subquery()
    )
    props["first_source_url"] = first_url
    for list_column in ("actors", "tags"):
        props[list_column] = func.array_to_string(props[list_column], ";")
    names = [n for n in props if property_names is None or n in property_names]
    if property_names is not None and "citations" in property_names:
        names += ["source_count", "first_source_url"]
    columns: dict[str, ColumnElement[Any]] = {
        "id": events.c.id,
        "longitude": func.ST_X(events.c.geom),
        "latitude": func.ST_Y(events.c.geom),
    }
    columns.update({name: props[name] for name in dict.fromkeys(names)})
    return columns


def events_csv_page(
    f: EventFilter, page: Page, property_names: tuple[str, ...] | None = None
) -> Select[Any]:
    """Like events_page, but flat columns for CSV (which name the place), then the sort keys."""
    columns = [expr.label(name) for name, expr in csv_columns(property_names).items()]
    return events_page(f, page, property_names, stored=False).with_only_columns(
        *columns, *[EVENT_SORTABLE[key.name].label(f"k{i}") for i, key in enumerate(page.sort)]
    )


def events_extent() -> Select[Any]:
    """Bounding box and time span of the live events (one aggregate pass)."""
    e = events.c
    box = func.ST_Extent(e.geom)
    return select(
        func.ST_XMin(box),
        func.ST_YMin(box),
        func.ST_XMax(box),
        func.ST_YMax(box),
        func.min(e.occurred_at),
        func.max(func.upper(e.during)),
    ).where(e.deleted_at.is_(None))
