"""Write use-cases: create, replace, patch, delete and restore events; cite sources.

Each runs in one transaction that also writes the event's revision, so history can never
miss a change. Changes to an existing event name the version they were made against (the
ETag); a stale version changes nothing and is a 412.
"""

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.domain.bodies import (
    EDITABLE_FIELDS,
    CitationBody,
    EventCreate,
    EventUpdate,
    SourceCreate,
    feature_fields,
    is_feature,
    merge_patch,
)
from app.domain.errors import Conflict, FrontlineError, InvalidBody, NotFound, PreconditionFailed
from app.domain.vocab import Operation
from app.services.gazetteer import resolve_place
from app.services.keys import Principal
from app.store.revisions import record_revision
from app.store.verification import DERIVE_ONE


@dataclass(frozen=True)
class Written:
    id: int
    version: int


# In INSERT and UPDATE the point is the body's, else the place's.
_INSERT = text(
    """
    INSERT INTO events (dataset, external_id, title, description, event_type, sub_event_type,
                        actors, fatalities, occurred_at, occurred_until, time_precision,
                        place_id, geom, location_precision, verification,
                        verification_explicit, tags)
    VALUES (:dataset, :external_id, :title, :description, :event_type, :sub_event_type,
            :actors, :fatalities, :occurred_at, :occurred_until, :time_precision,
            :place_id,
            COALESCE(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                     (SELECT geom FROM places WHERE id = :place_id)),
            :location_precision, :verification, :explicit, :tags)
    ON CONFLICT (dataset, external_id) DO NOTHING
    RETURNING id, version
    """
)
_UPDATE = text(
    """
    UPDATE events SET title = :title, description = :description, event_type = :event_type,
        sub_event_type = :sub_event_type, actors = :actors, fatalities = :fatalities,
        occurred_at = :occurred_at, occurred_until = :occurred_until,
        time_precision = :time_precision, place_id = :place_id,
        geom = COALESCE(ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326),
                     (SELECT geom FROM places WHERE id = :place_id)),
        location_precision = :location_precision, verification = :verification,
        verification_explicit = :explicit, tags = :tags,
        version = version + 1, updated_at = now()
    WHERE id = :id AND deleted_at IS NULL AND (CAST(:expected AS int) IS NULL
                                               OR version = :expected)
    RETURNING id, version
    """
)
_SET_DELETED = text(
    """
    UPDATE events SET deleted_at = CASE WHEN :delete THEN now() END,
                      version = version + 1, updated_at = now()
    WHERE id = :id AND (deleted_at IS NULL) = :delete AND merged_into IS NULL
      AND (CAST(:expected AS int) IS NULL OR version = :expected)
    RETURNING id, version
    """
)
_BUMP = text(
    "UPDATE events SET version = version + 1, updated_at = now() "
    "WHERE id = :id AND deleted_at IS NULL "
    "AND (CAST(:expected AS int) IS NULL OR version = :expected) RETURNING id, version"
)
_STATE = text("SELECT version, deleted_at, merged_into FROM events WHERE id = :id")
_CITE = text(
    """
    INSERT INTO event_sources (event_id, source_id, url, published_at, stance, excerpt)
    SELECT :event_id, s.id, :url, :published_at, :stance, :excerpt FROM sources s
    WHERE s.slug = :source
    ON CONFLICT (event_id, source_id, url) DO NOTHING
    RETURNING id
    """
)
_KNOWN_SOURCES = text("SELECT slug FROM sources WHERE slug = ANY(:slugs)")
# The editable fields of an event as a body would give them (PATCH merges into this).
_EDITABLE = text(
    """
    SELECT e.title, e.description, e.event_type, e.sub_event_type, e.actors, e.fatalities,
           e.occurred_at, e.occurred_until, e.time_precision, p.slug AS place,
           CASE WHEN p.geom IS NULL OR NOT ST_Equals(e.geom, p.geom)
                THEN json_build_object('type', 'Point',
                                       'coordinates', json_build_array(ST_X(e.geom), ST_Y(e.geom)))
           END AS geometry,
           e.location_precision,
           CASE WHEN e.verification_explicit THEN e.verification END AS verification, e.tags,
           e.version, e.deleted_at
    FROM events e LEFT JOIN places p ON p.id = e.place_id WHERE e.id = :id
    """
)


async def _row_values(engine: AsyncEngine, body: EventUpdate) -> dict[str, Any]:
    place_id = None
    if body.place is not None:
        place_id = (await resolve_place(engine, str(body.place), "place", where="body")).id
    lon, lat = body.geometry.coordinates[:2] if body.geometry else (None, None)
    return {
        **body.model_dump(include={"title", "description", "sub_event_type", "actors",
                                   "fatalities", "occurred_at", "occurred_until", "tags"}),
        "event_type": body.event_type.value,
        "time_precision": body.time_precision.value,
        "location_precision": body.location_precision.value,
        "place_id": place_id, "lon": lon, "lat": lat,
        "verification": (body.verification or "unverified"),
        "explicit": body.verification is not None,
    }  # fmt: skip


async def _after_change(
    conn: AsyncConnection, event_id: int, operation: Operation, who: Principal
) -> None:
    """Derive verification from the citations (unless set by hand), then record history."""
    await conn.execute(DERIVE_ONE, {"id": event_id})
    await record_revision(conn, event_id, operation, who.name)


# The expected version of an If-Match that names none (W/"3", "abc", a list): never matched, so
# the change is refused as stale (412) once the body and the event are known to be valid.
NO_VERSION = 0


def stale_version(event_id: int, version: int, expected: int | None) -> PreconditionFailed | None:
    """The 412 for a version that is not the event's own (None when it is, or none is given)."""
    if expected is None or version == expected:
        return None
    return PreconditionFailed(
        f"Event {event_id} is at version {version}, not {expected}; "
        "fetch it again and reapply your change."
    )


async def _missed(
    conn: AsyncConnection, event_id: int, expected: int | None, deleted: bool
) -> FrontlineError:
    """Why a guarded UPDATE touched nothing: 404, 409 (deleted or not) or 412 (stale)."""
    row = (await conn.execute(_STATE, {"id": event_id})).first()
    if row is None:
        return NotFound(f"No event with id {event_id}.")
    if expected == NO_VERSION:
        return PreconditionFailed(
            f"If-Match names no version of event {event_id} (it is at version {row.version}; "
            'a weak, foreign or listed tag never matches): send its ETag, such as "3".'
        )
    if (stale := stale_version(event_id, row.version, expected)) is not None:
        return stale
    if row.merged_into is not None:
        return Conflict(
            f"Event {event_id} was merged into event {row.merged_into}; change that one, or "
            f"unmerge this one first (POST /events/{event_id}/unmerge)."
        )
    if deleted:
        return Conflict(f"Event {event_id} is deleted; restore it first.")
    return Conflict(f"Event {event_id} is not deleted.")


async def _check_sources(conn: AsyncConnection, citations: list[CitationBody]) -> None:
    slugs = sorted({c.source for c in citations})
    known = set((await conn.execute(_KNOWN_SOURCES, {"slugs": slugs})).scalars())
    for index, citation in enumerate(citations):
        if citation.source not in known:
            raise InvalidBody(
                f"citations.{index}.source",
                f"no source {citation.source!r}; create it with POST /sources",
            )


async def _cite(conn: AsyncConnection, event_id: int, citation: CitationBody) -> bool:
    params = {"event_id": event_id, **citation.model_dump(), "stance": citation.stance.value}
    return (await conn.execute(_CITE, params)).first() is not None


async def create_event(engine: AsyncEngine, body: EventCreate, who: Principal) -> Written:
    values = await _row_values(engine, body)
    params = {**values, "dataset": body.dataset, "external_id": body.external_id}
    async with engine.begin() as conn:
        await _check_sources(conn, body.citations)
        row = (await conn.execute(_INSERT, params)).first()
        if row is None:
            raise Conflict(
                f"An event with dataset {body.dataset!r} and external_id {body.external_id!r} "
                "already exists; change it with PUT or PATCH."
            )
        for citation in body.citations:
            await _cite(conn, row.id, citation)
        await _after_change(conn, row.id, Operation.CREATE, who)
    return Written(row.id, row.version)


async def replace_event(
    engine: AsyncEngine, event_id: int, body: EventUpdate, expected: int | None, who: Principal
) -> Written:
    values = await _row_values(engine, body)
    async with engine.begin() as conn:
        params = {**values, "id": event_id, "expected": expected}
        row = (await conn.execute(_UPDATE, params)).first()
        if row is None:
            raise await _missed(conn, event_id, expected, deleted=True)
        await _after_change(conn, event_id, Operation.UPDATE, who)
    return Written(row.id, row.version)


async def current_body(engine: AsyncEngine, event_id: int) -> dict[str, Any]:
    """The event's editable fields as JSON values, for a merge patch to apply to."""
    async with engine.connect() as conn:
        row = (await conn.execute(_EDITABLE, {"id": event_id})).first()
    if row is None:
        raise NotFound(f"No event with id {event_id}.")
    values = row._asdict()
    for key in ("occurred_at", "occurred_until"):
        values[key] = values[key].isoformat() if values[key] else None
    internal = ("version", "deleted_at")
    return {k: v for k, v in values.items() if v is not None and k not in internal}


async def patch_event(
    engine: AsyncEngine, event_id: int, patch: Any, expected: int | None, who: Principal
) -> Written:
    if not isinstance(patch, dict):
        raise InvalidBody("body", "a merge patch must be a JSON object")
    if is_feature(patch):
        try:
            patch = feature_fields(patch, EDITABLE_FIELDS)
        except ValueError as exc:
            raise InvalidBody("properties", str(exc)) from None
    if unknown := [name for name in patch if name not in EDITABLE_FIELDS]:  # even as null
        raise InvalidBody(unknown[0], "not an editable field of an event")
    merged = merge_patch(await current_body(engine, event_id), patch)
    if patch.get("geometry") is not None:  # a point is replaced whole, never merged member-wise
        merged["geometry"] = patch["geometry"]
    try:
        body = EventUpdate.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise InvalidBody(field, first["msg"]) from None
    return await replace_event(engine, event_id, body, expected, who)


async def set_deleted(
    engine: AsyncEngine, event_id: int, delete: bool, expected: int | None, who: Principal
) -> Written:
    """Soft delete (the row and its history stay) or restore."""
    async with engine.begin() as conn:
        params = {"id": event_id, "delete": delete, "expected": expected}
        row = (await conn.execute(_SET_DELETED, params)).first()
        if row is None:
            raise await _missed(conn, event_id, expected, deleted=delete)
        operation = Operation.DELETE if delete else Operation.RESTORE
        await record_revision(conn, event_id, operation, who.name)
    return Written(row.id, row.version)


async def add_citation(
    engine: AsyncEngine, event_id: int, body: CitationBody, expected: int | None, who: Principal
) -> Written:
    async with engine.begin() as conn:
        row = (await conn.execute(_BUMP, {"id": event_id, "expected": expected})).first()
        if row is None:
            raise await _missed(conn, event_id, expected, deleted=True)
        await _check_sources(conn, [body])
        if not await _cite(conn, event_id, body):
            raise Conflict(f"Event {event_id} already cites {body.source} at that URL.")
        await _after_change(conn, event_id, Operation.UPDATE, who)
    return Written(row.id, row.version)


_INSERT_SOURCE = text(
    """
    INSERT INTO sources (slug, name, kind, country_code, url)
    VALUES (:slug, :name, :kind, :country_code, :url)
    RETURNING slug
    """
)


async def create_source(engine: AsyncEngine, body: SourceCreate) -> str:
    try:
        async with engine.begin() as conn:
            params = {**body.model_dump(), "kind": body.kind.value}
            return str((await conn.execute(_INSERT_SOURCE, params)).scalar_one())
    except IntegrityError:
        raise Conflict(f"A source with slug {body.slug!r} already exists.") from None
