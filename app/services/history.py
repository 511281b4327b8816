"""`GET /events/{id}/history`: every revision of an event, with what each one changed."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import NotFound
from app.store import repository

# Bookkeeping that changes with every revision and says nothing about the event.
NOT_A_CHANGE = frozenset({"version", "updated_at"})

_REVISIONS = text(
    """
    SELECT version, operation, changed_at, changed_by, note, snapshot
    FROM event_revisions WHERE event_id = :id ORDER BY version
    """
)


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-field diff of two snapshots: {field: {"from": old, "to": new}} for what differs."""
    fields = [k for k in dict.fromkeys([*before, *after]) if k not in NOT_A_CHANGE]
    return {
        key: {"from": before.get(key), "to": after.get(key)}
        for key in fields
        if before.get(key) != after.get(key)
    }


async def event_history(engine: AsyncEngine, event_id: int, base_url: str) -> dict[str, Any]:
    rows = await repository.fetch_rows(engine, _REVISIONS.bindparams(id=event_id))
    if not rows:
        raise NotFound(f"No event with id {event_id}.")
    revisions: list[dict[str, Any]] = []
    before: dict[str, Any] = {}
    for row in rows:
        revisions.append({
            "version": row.version,
            "operation": row.operation,
            "changed_at": row.changed_at.isoformat(),
            "changed_by": row.changed_by,
            **({"note": row.note} if row.note else {}),
            "changes": field_changes(before, row.snapshot),
        })  # fmt: skip
        before = row.snapshot
    return {
        "event_id": event_id,
        "current_version": rows[-1].version,
        "revisions": revisions,
        "links": [
            {
                "href": f"{base_url}/events/{event_id}",
                "rel": "item",
                "type": "application/geo+json",
                "title": "The event now",
            },
        ],
    }
