"""Bbox + window pages read a slice of time at a time, so that their cost follows the page.

A page in the default order (occurred_at, id) over a box and a window is the first
limit + 1 matches in time. PostgreSQL can only read it one of two ways with the 2-D index:
collect every match of the box and the window and sort them (the cost of all the matches,
often tens of thousands for a page of 1 000), or walk the (occurred_at, id) index and test
each event against the box (the cost of every event of the window until the page is full,
ruinous for a small box). Which one it picks depends on an estimate that treats place and
time as independent, which conflict data never are (bench/README.md, "Medium pages").

The statement built here walks the window in slices of time, in order: first the events
that began before the window and still run at its start, then [p, p + d), [p + d, p + 3d),
[p + 3d, p + 7d)… (each slice twice the last, the first 1/64 of the window), and in each
slice finds the box's matches through the space-time index (migration 0013: place and span
as one 3-D box), sorts them and keeps limit + 1. A LIMIT above the walk stops it once the
page is full, so the work is the matches of the slices the page reaches (one to a few pages
of them), not all the matches of the window.

The walk's rows come out in page order: unnest yields the slices in array order, a nested
loop yields each outer row's inner rows before the next outer row's, and the inner ORDER BY
sorts within a slice (like ``events.joined_page``, this relies on PostgreSQL passing rows on
in the order it produces them when nothing above sorts).

Two kinds of box are read better by the plain statement, and the planner's own statistics
tell them (``box_read_plainly``): one that holds nine events in ten or more, where walking
the time index is a page of rows and PostgreSQL picks that walk by itself; and one that
holds no more events in all than the page asks for, where collecting every match is a page
of work and the slices would only add their probes. Both statements are branches of one
UNION ALL, and the gate, evaluated once per branch, runs only one of them. ``as_of`` pages
never take the walk (the planner misjudges how many versions a window holds and collects
them all instead): only the second kind reads them plainly.
"""

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Select,
    and_,
    bindparam,
    extract,
    func,
    literal_column,
    not_,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement

from app.domain.filters import DEFAULT_EVENT_SORT, EventFilter, Interval, Page
from app.store.queries.common import corner_params, envelope, ts
from app.store.queries.event_filters import (
    event_conditions,
    events,
    interval_clause,
    starts_before_end,
)

FIRST_SLICE_SHARE = 64  # the first slice is 1/64 of the time left to walk (bench/README.md)
SLICE_GROWTH = 2
Slices = tuple[list[datetime | None], list[datetime | None]]

# Filters that another index answers better than the box does (a place's descendants, a
# region, a circle, citations, actors, text, a change feed): those pages keep their plans.
_OTHER_INDEXES = ("place_ids", "within_place_id", "near", "sources", "actors", "text",
                  "updated_since", "changes_after", "changes_before", "external_id")  # fmt: skip


def applies(f: EventFilter, page: Page) -> bool:
    """Whether the page is a bbox + window page in the default order that slices can read."""
    interval = f.interval
    return (
        page.sort == DEFAULT_EVENT_SORT
        and f.bbox is not None
        and not f.bbox.crosses_antimeridian
        and interval is not None
        and interval.start is not None
        and interval.end is not None
        and not any(getattr(f, name) for name in _OTHER_INDEXES)
    )


def slice_bounds(interval: Interval, page: Page) -> Slices:
    """Each slice's [lo, hi) of occurred_at, in walking order; None is an open end. The first
    slice is the events that began before the window ([None, start))."""
    start, end = interval.start, interval.end
    assert start is not None and end is not None
    at = page.cursor.values[0] if page.cursor is not None else None
    assert at is None or isinstance(at, datetime)
    if page.backward:
        return _backward(start, end if at is None or at > end else at)
    # Events that began before the window, unless the cursor is past its start.
    before = at is None or at < start
    lo: list[datetime | None] = [None] if before else []
    hi: list[datetime | None] = [start] if before else []
    begin = start if before or at is None else at
    step = (end - begin) / FIRST_SLICE_SHARE
    while step > timedelta(0) and begin + step < end:
        lo.append(begin)
        hi.append(begin + step)
        begin, step = begin + step, step * SLICE_GROWTH
    lo.append(begin)
    hi.append(None)
    return lo, hi


def _backward(start: datetime, top: datetime) -> Slices:
    """Slices walking down from ``top``: the first open above (the cursor's own instant and
    an inclusive end), the last the events that began before the window."""
    lo: list[datetime | None] = []
    hi: list[datetime | None] = []
    upper: datetime | None = None
    step = (top - start) / FIRST_SLICE_SHARE
    while step > timedelta(0) and top - step > start:
        lo.append(top - step)
        hi.append(upper)
        upper, top, step = top - step, top - step, step * SLICE_GROWTH
    if top >= start:
        lo.append(start)
        hi.append(upper)
    return [*lo, None], [*hi, start]


def slice_values(f: EventFilter, page: Page) -> dict[str, Any]:
    """The values the sliced statement binds beyond the filter's and the page's."""
    assert f.interval is not None
    lo, hi = slice_bounds(f.interval, page)
    return {"slice_lo": lo, "slice_hi": hi}


MOST = 0.9  # the share of the events a box holds from which the time walk is a page's cost


def gated(
    plain: Select[Any], sliced: Select[Any], f: EventFilter, rows: ColumnElement[int], past: bool
) -> Select[Any]:
    """One statement: the plain page for a box that holds most events (not ``past``) or no
    more than the page's ``rows``, else the sliced one."""
    assert f.bbox is not None
    most: ColumnElement[Any] = literal_column("2.0" if past else repr(MOST))  # 2: never
    plainly = func.box_read_plainly(envelope(f.bbox, "bbox0"), rows, most)
    both = union_all(plain.where(plainly), sliced.where(not_(plainly))).subquery("either")
    return select(*both.c)


def sliced_page(
    f: EventFilter, columns: list[ColumnElement[Any]],
    after: ColumnElement[bool] | None, order: list[ColumnElement[Any]], limit: ColumnElement[int],
) -> Select[Any]:  # fmt: skip
    """The page's ``columns`` (named), walking the slices; ``after`` is the cursor's clause."""
    assert f.bbox is not None and f.interval is not None
    start, end = f.interval.start, f.interval.end
    array = ARRAY(DateTime(timezone=True))
    slices = (
        func.unnest(bindparam("slice_lo", type_=array), bindparam("slice_hi", type_=array))
        .table_valued("lo", "hi")
        .render_derived(name="slices")
    )
    lo, hi = slices.c.lo, slices.c.hi
    e = events.c
    # The exact window tests, as filters only: offered to the planner as index conditions,
    # it ANDs in a scan of every span of the window (as_of: every version valid then).
    exact = [interval_clause(e.during, f.interval), starts_before_end(f.interval)]
    conditions = [
        *event_conditions(_without_box_and_window(f)),
        *(clause.is_(true()) for clause in exact),
        or_(lo.is_(None), e.occurred_at >= lo),
        or_(hi.is_(None), e.occurred_at < hi),
        _in_space_time(f, func.greatest(lo, ts(start, "start")), func.least(hi, ts(end, "end"))),
    ]
    if after is not None:
        conditions.append(after)
    inner = (
        select(*columns)
        .where(and_(true(), *conditions))
        .order_by(*order)
        .limit(limit + 1)
        .lateral("slice_rows")
    )
    return select(*inner.c).select_from(slices.join(inner, true())).limit(limit + 1)


def _without_box_and_window(f: EventFilter) -> EventFilter:
    """The filter's other conditions: the box and the window become the space-time box."""
    return replace(f, bbox=None, interval=None)


def _days(instant: ColumnElement[datetime]) -> ColumnElement[Any]:
    """An instant as the space-time index's third coordinate: days since 1970."""
    return extract("epoch", instant) / literal_column("86400.0")


def _in_space_time(
    f: EventFilter, first: ColumnElement[datetime], last: ColumnElement[datetime]
) -> ColumnElement[bool]:
    """Events whose point is in the box and whose span overlaps [first, last], as the N-D
    index sees them (float boxes, a little wider than asked: the exact tests stay)."""
    assert f.bbox is not None
    c = corner_params(f.bbox, "bbox0")  # the values the page's envelope binds
    low = func.ST_MakePoint(c["west"], c["south"], _days(first))
    high = func.ST_MakePoint(c["east"], c["north"], _days(last))
    key = func.event_space_time(events.c.geom, events.c.during)  # the index's expression
    return key.op("&&&", is_comparison=True)(func.ST_3DMakeBox(low, high))
