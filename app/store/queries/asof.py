"""`as_of`: the events as they were known at a past instant, rebuilt from their revisions.

Every revision holds a full snapshot, so the latest revision of each event at or before the
instant *is* that event as it was then (a delete revision carries its `deleted_at`; an event
first recorded later has no revision yet). Common table expressions named `events` and
`event_sources` shadow the tables, so every read query — filters, sorting, paging, feature
JSON — runs unchanged over the past (with no stored Feature text: it is built from the
snapshot's columns).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Select, bindparam, text
from sqlalchemy.sql.selectable import CTE

_KNOWN_THEN = """
SELECT DISTINCT ON (r.event_id) r.event_id, r.snapshot AS s
FROM event_revisions r
WHERE r.changed_at <= :as_of
ORDER BY r.event_id, r.version DESC
"""
_EVENTS_THEN = """
SELECT k.event_id AS id, s->>'dataset' AS dataset, s->>'external_id' AS external_id,
       s->>'title' AS title, s->>'description' AS description, s->>'event_type' AS event_type,
       s->>'sub_event_type' AS sub_event_type,
       ARRAY(SELECT jsonb_array_elements_text(s->'actors')) AS actors,
       (s->>'fatalities')::int AS fatalities,
       (s->>'occurred_at')::timestamptz AS occurred_at,
       (s->>'occurred_until')::timestamptz AS occurred_until,
       CASE WHEN s->>'occurred_until' IS NULL OR s->>'occurred_until' = s->>'occurred_at'
            THEN tstzrange((s->>'occurred_at')::timestamptz, (s->>'occurred_at')::timestamptz, '[]')
            ELSE tstzrange((s->>'occurred_at')::timestamptz, (s->>'occurred_until')::timestamptz,
                           '[)')
       END AS during,
       s->>'time_precision' AS time_precision, (s->>'place_id')::bigint AS place_id,
       ST_SetSRID(ST_GeomFromGeoJSON(s->'geometry'), 4326) AS geom,
       s->>'location_precision' AS location_precision, s->>'verification' AS verification,
       COALESCE((s->>'verification_explicit')::boolean, true) AS verification_explicit,
       jsonb_array_length(s->'citations') AS source_count,
       ARRAY(SELECT jsonb_array_elements_text(s->'tags')) AS tags,
       (s->>'version')::int AS version, (s->>'created_at')::timestamptz AS created_at,
       (s->>'updated_at')::timestamptz AS updated_at,
       (s->>'deleted_at')::timestamptz AS deleted_at
FROM known_then k
"""
_CITATIONS_THEN = """
SELECT row_number() OVER (ORDER BY k.event_id, c.n) AS id, k.event_id, src.id AS source_id,
       c.item->>'url' AS url, (c.item->>'published_at')::timestamptz AS published_at,
       c.item->>'stance' AS stance, c.item->>'excerpt' AS excerpt,
       NULL::timestamptz AS created_at
FROM known_then k
CROSS JOIN LATERAL jsonb_array_elements(k.s->'citations') WITH ORDINALITY AS c(item, n)
JOIN sources src ON src.slug = c.item->>'source'
"""


def _cte(sql: str, name: str, as_of: datetime | None = None) -> CTE:
    clause = text(sql)
    if as_of is not None:
        clause = clause.bindparams(bindparam("as_of", as_of, type_=DateTime(timezone=True)))
    return clause.columns().cte(name)


def as_of(stmt: Select[Any], instant: datetime) -> Select[Any]:
    """The same query, over the events and citations as they were known at ``instant``."""
    return stmt.add_cte(
        _cte(_KNOWN_THEN, "known_then", instant),
        _cte(_EVENTS_THEN, "events"),
        _cte(_CITATIONS_THEN, "event_sources"),
    )
