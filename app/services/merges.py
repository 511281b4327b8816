"""Merging two reports of one happening into one event, and undoing it.

A merge runs in one transaction. Both events are locked (in id order, so two merges never
deadlock); the survivor gets a copy of every citation of the merged event, each naming the
event it came from, and the actors and tags it lacked; the merged event becomes a tombstone
that names its survivor and keeps its own dataset, external id, fields and citations. Both
get a revision. Unmerge takes exactly those copies and additions away and brings the
tombstone back, so both read as they did before (their histories show it).
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.errors import Conflict, NotFound, PreconditionFailed
from app.domain.vocab import Operation
from app.services.keys import Principal
from app.services.writes import NO_VERSION, Written, stale_version
from app.store.revisions import record_revisions
from app.store.verification import DERIVE_ONE


@dataclass(frozen=True)
class Merged:
    survivor: Written
    merged: Written
    citations_copied: int  # citations of the merged event the survivor now has a copy of
    citations_shared: int  # ones the survivor already cited (same source and URL)


_LOCK = text(
    """
    SELECT id, version, deleted_at, merged_into, dataset, external_id, actors, tags
    FROM events WHERE id = ANY(:ids) ORDER BY id FOR UPDATE
    """
)
_SURVIVOR = text("SELECT event_survivor(:id)")
_COPY_CITATIONS = text(
    """
    WITH copied AS (
        INSERT INTO event_sources (event_id, source_id, url, published_at, stance, excerpt,
                                   merged_from)
        SELECT :survivor, source_id, url, published_at, stance, excerpt, :merged
        FROM event_sources WHERE event_id = :merged ORDER BY id
        ON CONFLICT (event_id, source_id, url) DO NOTHING
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM copied) AS copied,
           (SELECT count(*) FROM event_sources WHERE event_id = :merged) AS total
    """
)
_ADD_TO_SURVIVOR = text(
    """
    UPDATE events SET actors = actors || CAST(:actors AS text[]),
                      tags = tags || CAST(:tags AS text[]),
                      version = version + 1, updated_at = now()
    WHERE id = :id RETURNING id, version
    """
)
_ENTOMB = text(
    """
    UPDATE events SET deleted_at = now(), merged_into = :survivor,
                      version = version + 1, updated_at = now()
    WHERE id = :id RETURNING id, version
    """
)
_LOG_MERGE = text(
    """
    INSERT INTO event_merges (survivor_id, merged_id, merged_by, added_actors, added_tags)
    VALUES (:survivor, :merged, :who, :actors, :tags)
    """
)
_OPEN_MERGE = text(
    """
    SELECT id, survivor_id, added_actors, added_tags FROM event_merges
    WHERE merged_id = :merged AND unmerged_at IS NULL ORDER BY id DESC LIMIT 1
    """
)
_DROP_COPIES = text(
    "DELETE FROM event_sources WHERE event_id = :survivor AND merged_from = :merged"
)
# What the merge added, taken away again (in the order the rest was in).
_TAKE_FROM_SURVIVOR = text(
    """
    UPDATE events SET
        actors = ARRAY(SELECT a FROM unnest(actors) WITH ORDINALITY AS t(a, n)
                       WHERE a <> ALL(CAST(:actors AS text[])) ORDER BY n),
        tags = ARRAY(SELECT g FROM unnest(tags) WITH ORDINALITY AS t(g, n)
                     WHERE g <> ALL(CAST(:tags AS text[])) ORDER BY n),
        version = version + 1, updated_at = now()
    WHERE id = :id RETURNING id, version
    """
)
_REVIVE = text(
    """
    UPDATE events SET deleted_at = NULL, merged_into = NULL, version = version + 1,
                      updated_at = now()
    WHERE id = :id RETURNING id, version
    """
)
_CLOSE_MERGE = text(
    "UPDATE event_merges SET unmerged_at = now(), unmerged_by = :who WHERE id = :id"
)


async def merge(
    conn: AsyncConnection, survivor_id: int, merged_id: int,
    expected: tuple[int | None, int | None], who: Principal,
) -> Merged:  # fmt: skip
    """Merge event ``merged_id`` into ``survivor_id`` (``expected``: the version each must be
    at, None for any) inside the caller's transaction."""
    if survivor_id == merged_id:
        raise Conflict(f"Event {merged_id} cannot be merged into itself.")
    rows = await _locked(conn, [survivor_id, merged_id])
    if survivor_id not in rows:
        raise NotFound(f"No event with id {survivor_id}.")
    if merged_id not in rows:
        raise NotFound(f"No event with id {merged_id} (the body's event).")
    survivor, merged = rows[survivor_id], rows[merged_id]
    await _check_live(conn, survivor, merged_id)
    await _check_live(conn, merged, None)
    _check_version(survivor, expected[0])
    _check_version(merged, expected[1])
    actors = [a for a in dict.fromkeys(merged.actors) if a not in survivor.actors]
    tags = [t for t in dict.fromkeys(merged.tags) if t not in survivor.tags]
    ids = {"survivor": survivor_id, "merged": merged_id}
    counts = (await conn.execute(_COPY_CITATIONS, ids)).one()
    kept = (await conn.execute(_ADD_TO_SURVIVOR, {"id": survivor_id, "actors": actors,
                                                  "tags": tags})).one()  # fmt: skip
    gone = (await conn.execute(_ENTOMB, {"id": merged_id, "survivor": survivor_id})).one()
    await conn.execute(_LOG_MERGE, {**ids, "who": who.name, "actors": actors, "tags": tags})
    await conn.execute(DERIVE_ONE, {"id": survivor_id})
    await record_revisions(conn, [survivor_id], Operation.MERGE, who.name,
                           f"merged event {_named(merged)} into this one")  # fmt: skip
    await record_revisions(conn, [merged_id], Operation.MERGE, who.name,
                           f"merged into event {survivor_id}")  # fmt: skip
    return Merged(
        Written(kept.id, kept.version), Written(gone.id, gone.version),
        int(counts.copied), int(counts.total) - int(counts.copied),
    )  # fmt: skip


async def unmerge(
    conn: AsyncConnection, merged_id: int, expected: int | None, who: Principal
) -> tuple[Written, Written]:
    """Bring merged event ``merged_id`` back and take what it gave its survivor away; returns
    (the event restored, the survivor)."""
    found = await _locked(conn, [merged_id])
    if merged_id not in found:
        raise NotFound(f"No event with id {merged_id}.")
    merged = found[merged_id]
    if merged.merged_into is None:
        raise Conflict(f"Event {merged_id} is not merged into another event.")
    survivor_id = int(merged.merged_into)
    survivor = (await _locked(conn, [survivor_id]))[survivor_id]
    if survivor.merged_into is not None:
        raise Conflict(
            f"Event {merged_id} was merged into event {survivor_id}, which has since been "
            f"merged into event {survivor.merged_into}: unmerge {survivor_id} first."
        )
    _check_version(merged, expected)
    log = (await conn.execute(_OPEN_MERGE, {"merged": merged_id})).one()
    await conn.execute(_DROP_COPIES, {"survivor": survivor_id, "merged": merged_id})
    params = {"id": survivor_id, "actors": log.added_actors, "tags": log.added_tags}
    kept = (await conn.execute(_TAKE_FROM_SURVIVOR, params)).one()
    back = (await conn.execute(_REVIVE, {"id": merged_id})).one()
    await conn.execute(_CLOSE_MERGE, {"id": log.id, "who": who.name})
    await conn.execute(DERIVE_ONE, {"id": survivor_id})
    await record_revisions(conn, [survivor_id], Operation.UNMERGE, who.name,
                           f"took event {_named(merged)} back out of this one")  # fmt: skip
    await record_revisions(conn, [merged_id], Operation.UNMERGE, who.name,
                           f"unmerged from event {survivor_id}")  # fmt: skip
    return Written(back.id, back.version), Written(kept.id, kept.version)


async def _locked(conn: AsyncConnection, ids: list[int]) -> dict[int, Any]:
    rows = (await conn.execute(_LOCK, {"ids": ids})).all()
    return {int(row.id): row for row in rows}


async def _check_live(conn: AsyncConnection, row: Any, other: int | None) -> None:
    """A merge needs both events live: a tombstone's message says where its report went."""
    if row.merged_into is not None:
        survivor = (await conn.execute(_SURVIVOR, {"id": row.id})).scalar_one()
        if other is not None and survivor == other:
            raise Conflict(
                f"Event {row.id} was merged into event {other}: merging {other} into it "
                "would make a cycle."
            )
        role = "a merge target" if other is not None else "merged"
        raise Conflict(
            f"Event {row.id} was already merged into event {survivor} and cannot be {role}; "
            f"use event {survivor}."
        )
    if row.deleted_at is not None:
        raise Conflict(f"Event {row.id} is deleted; restore it first.")


def _check_version(row: Any, expected: int | None) -> None:
    if expected == NO_VERSION:
        raise PreconditionFailed(
            f"The version given for event {row.id} names none (it is at version {row.version}): "
            'send its ETag, such as "3".'
        )
    if (stale := stale_version(row.id, row.version, expected)) is not None:
        raise stale


def _named(row: Any) -> str:
    """An event as a note names it: its id, and where it came from."""
    origin = f" ({row.dataset}:{row.external_id})" if row.external_id else f" ({row.dataset})"
    return f"{row.id}{origin}"


async def merge_events(
    engine: AsyncEngine, survivor_id: int, merged_id: int,
    expected: tuple[int | None, int | None], who: Principal,
) -> Merged:  # fmt: skip
    """One merge in its own transaction."""
    async with engine.begin() as conn:
        return await merge(conn, survivor_id, merged_id, expected, who)


async def unmerge_event(
    engine: AsyncEngine, merged_id: int, expected: int | None, who: Principal
) -> tuple[Written, Written]:
    async with engine.begin() as conn:
        return await unmerge(conn, merged_id, expected, who)
