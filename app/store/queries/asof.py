"""`as_of`: the events as they were known at a past instant, read from their revisions.

Each revision row holds the event's columns at that version and the interval during which it
was the current one (migration 0011), so the past is a table like the present: common table
expressions named `events` and `event_sources` select the versions valid at the instant and
shadow the tables, and every read query — filters, sorting, paging, the stored Feature text —
runs unchanged. They are NOT MATERIALIZED, so PostgreSQL inlines them and the page's own
conditions reach the revisions' indexes (GiST on geometry, span and validity; B-tree on
start and event).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Select, bindparam, cast, null, select, text
from sqlalchemy.sql.selectable import CTE

from app.store.models import Event, EventRevision

revisions = EventRevision.__table__

# A version's citations are those of its snapshot, in citation order (the live ids' order).
_CITATIONS_THEN = """
SELECT c.n AS id, r.event_id, src.id AS source_id,
       c.item->>'url' AS url, (c.item->>'published_at')::timestamptz AS published_at,
       c.item->>'stance' AS stance, c.item->>'excerpt' AS excerpt,
       (c.item->>'merged_from')::bigint AS merged_from, NULL::timestamptz AS created_at
FROM event_revisions r
CROSS JOIN LATERAL jsonb_array_elements(r.snapshot->'citations') WITH ORDINALITY AS c(item, n)
JOIN sources src ON src.slug = c.item->>'source'
WHERE r.valid @> CAST(:as_of AS timestamptz)
"""


def _instant(instant: datetime) -> Any:
    return bindparam("as_of", instant, type_=DateTime(timezone=True))


def _column_then(column: Any) -> Any:
    """An events column as history keeps it; NULL for one it does not (change_xid: the change
    feed reads the present only)."""
    if column.name == "id":
        return revisions.c.event_id
    if column.name in revisions.c:
        return revisions.c[column.name]
    return cast(null(), column.type)


def _events_then(instant: datetime) -> CTE:
    """The version of each event valid at ``instant``, with the events table's columns."""
    columns = [_column_then(column).label(column.name) for column in Event.__table__.c]
    # Cast, so that `valid @> instant` is range-contains-element however it is rendered.
    instant_then = cast(_instant(instant), DateTime(timezone=True))
    valid_then = revisions.c.valid.op("@>", is_comparison=True)(instant_then)
    return select(*columns).where(valid_then).cte("events").prefix_with("NOT MATERIALIZED")


def _citations_then(instant: datetime) -> CTE:
    clause = text(_CITATIONS_THEN).bindparams(_instant(instant))
    return clause.columns().cte("event_sources").prefix_with("NOT MATERIALIZED")


# For pages read slice by slice (app.store.queries.slices): each slice's space-time box is
# bound per row of the slices, unknown when planning, so the planner estimates a couple of
# versions and reads the N-D index by index scan, in the index's spatial order: a heap page
# per version. A bitmap heap scan reads the slice's versions in the heap's order, which is
# the order they were written in. Large as_of pages: 8.0 -> 13.5 answers/s (bench/README.md).
SLICED_PAGE_SETTINGS = {"enable_indexscan": "off"}


def as_of(stmt: Select[Any], instant: datetime) -> Select[Any]:
    """The same query, over the events and citations as they were known at ``instant``."""
    return stmt.add_cte(_events_then(instant), _citations_then(instant))
