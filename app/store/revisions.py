"""Event history: a full snapshot row per change, written inside the change's transaction."""

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
                   ORDER BY es.id)
            FROM event_sources es JOIN sources s ON s.id = es.source_id
            WHERE es.event_id = e.id), '[]'::jsonb))
"""
# Constant fragments only (no input reaches these strings).
_RECORD = text(
    "INSERT INTO event_revisions (event_id, version, changed_by, operation, snapshot, changed_at)"
    " SELECT e.id, e.version, :changed_by, :operation, " + _SNAPSHOT + ", e.updated_at"
    " FROM events e WHERE e.id = :event_id"
)
# Bulk writes list what they changed in a temp table import_changed(id, inserted).
_RECORD_CHANGED = text(
    "INSERT INTO event_revisions (event_id, version, changed_by, operation, snapshot, changed_at)"
    " SELECT e.id, e.version, :changed_by,"
    " CASE WHEN c.inserted THEN 'create' ELSE 'update' END, " + _SNAPSHOT + ", e.updated_at"
    " FROM events e JOIN import_changed c ON c.id = e.id"
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
