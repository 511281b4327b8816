"""Event history: a revision row per change, written inside the change's transaction.

Each row holds a full snapshot and the event's columns as they are after the change; the
trigger of migration 0011 closes the version it supersedes.
"""

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.vocab import Operation

# The snapshot is the event row (minus what is derived: its span, citation count and Feature
# text) plus its point and its citations, so a revision alone says everything that was known.
_SNAPSHOT = """
    (to_jsonb(e) - 'during' - 'geom' - 'source_count' - 'feature')
    || jsonb_build_object(
        'geometry', ST_AsGeoJSON(e.geom, 6)::jsonb,
        'citations', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'source', s.slug, 'stance', es.stance, 'url', es.url,
                       'published_at', es.published_at, 'excerpt', es.excerpt)
                       || CASE WHEN es.merged_from IS NULL THEN '{}'::jsonb
                          ELSE jsonb_build_object('merged_from', es.merged_from) END
                   ORDER BY es.id)
            FROM event_sources es JOIN sources s ON s.id = es.source_id
            WHERE es.event_id = e.id), '[]'::jsonb))
"""
# The event's columns each revision keeps (migration 0011); `during` is computed from them.
_COLUMNS = (
    "dataset, external_id, title, description, event_type, sub_event_type, actors, fatalities,"
    " occurred_at, occurred_until, time_precision, place_id, geom, location_precision,"
    " verification, verification_explicit, source_count, tags, created_at, updated_at,"
    " deleted_at, feature"
)
_INSERT = (
    "INSERT INTO event_revisions (event_id, version, changed_by, operation, snapshot, changed_at,"
    " " + _COLUMNS + ")"
)
_FROM_EVENT = ", e." + _COLUMNS.replace(", ", ", e.")
# Constant fragments only (no input reaches these strings).
_RECORD = text(
    _INSERT
    + " SELECT e.id, e.version, :changed_by, :operation, "
    + _SNAPSHOT
    + ", e.updated_at"
    + _FROM_EVENT
    + " FROM events e WHERE e.id = :event_id"
)
# Bulk writes list what they changed in a temp table import_changed(id, inserted).
_RECORD_CHANGED = text(
    _INSERT + " SELECT e.id, e.version, :changed_by,"
    " CASE WHEN c.inserted THEN 'create' ELSE 'update' END, "
    + _SNAPSHOT
    + ", e.updated_at"
    + _FROM_EVENT
    + " FROM events e JOIN import_changed c ON c.id = e.id"
)
# One operation on several events at once, with the writer's reason (migration 0012).
_RECORD_MANY = text(
    _INSERT.replace(", feature)", ", feature, note)")
    + " SELECT e.id, e.version, :changed_by, :operation, "
    + _SNAPSHOT
    + ", e.updated_at"
    + _FROM_EVENT
    + ", :note FROM events e WHERE e.id = ANY(:ids)"
)


async def record_revision(
    conn: AsyncConnection, event_id: int, operation: Operation, changed_by: str
) -> None:
    """Write the event's current state as a revision (call after the change, same transaction)."""
    await conn.execute(
        _RECORD,
        {"event_id": event_id, "operation": operation.value, "changed_by": changed_by},
    )


async def record_changed_revisions(conn: AsyncConnection, changed_by: str) -> None:
    """A revision for every event listed in the import_changed temp table."""
    await conn.execute(_RECORD_CHANGED, {"changed_by": changed_by})


async def record_revisions(
    conn: AsyncConnection, ids: list[int], operation: Operation, changed_by: str, note: str
) -> None:
    """A revision for each of the events ``ids`` after the same change, saying why."""
    params = {"ids": ids, "operation": operation.value, "changed_by": changed_by, "note": note}
    await conn.execute(_RECORD_MANY, params)
