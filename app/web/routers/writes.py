"""Writes: events (REST and OGC API – Features Part 4), citations, sources, history.

Every route here needs `Authorization: Bearer <key>` with the write scope (history and the
source list only need read). A change to an existing event honours `If-Match` with its ETag
(a stale one is a 412 and writes nothing); without it the change is accepted and history keeps
the version it replaced, unless FRONTLINE_REQUIRE_IF_MATCH makes it a 428.
"""

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Request
from fastapi.responses import Response

from app.domain.bodies import CitationBody, EventCreate, EventUpdate, SourceCreate
from app.domain.errors import InvalidBody, InvalidHeader
from app.domain.parsing import ENTITY_TAGS_PATTERN
from app.services import history, reads, writes
from app.services.writes import Written
from app.web.auth import Reader, Writer
from app.web.consistency import written
from app.web.params.common import forbid_unknown_params
from app.web.problems import PreconditionRequired, UnsupportedMediaType
from app.web.routers.deps import Primary

router = APIRouter(tags=["writes"], dependencies=[Depends(forbid_unknown_params)])

EventId = Annotated[int, Path(description="Event id", examples=[5], ge=1, le=2**63 - 1)]
IF_MATCH_DOC = (
    'Send `If-Match` with the event\'s current ETag (`"<version>"`) to change only that '
    "version (412 when it changed since). Without it the change is accepted (last writer "
    "wins; history keeps the version it replaced), unless the server requires it (428)."
)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No, invalid or revoked API key"},
    403: {"description": "The key lacks the write scope"},
    404: {"description": "No such event"},
    409: {"description": "Duplicate, or the event is (not) deleted"},
    412: {"description": "Stale `If-Match`: the event changed since it was read"},
    413: {"description": "Body larger than the configured limit"},
    415: {"description": "Body is not JSON"},
    422: {"description": "Invalid body; the problem names the field"},
    428: {"description": "`If-Match` is missing and the server requires it"},
}
JSON_TYPES = ("application/json", "application/geo+json")
MERGE_PATCH = "application/merge-patch+json"
ENTITY_TAGS = re.compile(ENTITY_TAGS_PATTERN)


async def expected_version(
    request: Request,
    event_id: EventId,  # declared here too, so a bad id is reported before a bad If-Match
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description='The event\'s current ETag (`"<version>"`) or `*`.',
            examples=['"1"'],
        ),
    ] = None,
) -> int | None:
    """The version `If-Match` names; None for `*` or none sent (unless required). Weak,
    foreign or several tags name no version (a 412, once the body is found valid); what is
    not entity-tag syntax is a 400."""
    if header is None:
        if request.app.state.settings.require_if_match:
            raise PreconditionRequired(
                'Send If-Match with the event\'s current ETag ("<version>") or *.'
            )
        return None
    if not ENTITY_TAGS.match(header):
        raise InvalidHeader(
            "If-Match", f'{header!r} is not * or an entity tag in quotes, such as "3"'
        )
    tag = header.strip()
    if tag == "*":
        return None
    if len(tag) > 2 and tag[0] == tag[-1] == '"' and tag[1:-1].isdigit():
        return int(tag[1:-1])
    return writes.NO_VERSION  # refused with a 412 after the body is checked


IfMatch = Annotated[int | None, Depends(expected_version)]


async def json_only(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in JSON_TYPES:
        raise UnsupportedMediaType(f"Send JSON ({', '.join(JSON_TYPES)}), not {media!r}.")


async def written_event(request: Request, engine: Primary, done: Written, status: int) -> Response:
    """The event as it is now, with its new ETag (and Location for a creation)."""
    feature, version = await reads.event_feature(engine, done.id)
    headers = {"ETag": f'"{version}"', "Cache-Control": "no-store", **await written(engine)}
    if status == 201:  # the item's URL in the API it was created through (QGIS reads it)
        ogc = request.url.path.startswith("/collections/")
        item = (
            request.url_for("event_item", event_id=done.id)
            if ogc
            else request.url_for("get_event", event_id=done.id)
        )
        headers["Location"] = str(item)
    return Response(feature, status_code=status, media_type="application/geo+json",
                    headers=headers)  # fmt: skip


CREATE_EXAMPLE = {
    "title": "Shelling reported in Sudzha",
    "event_type": "shelling",
    "occurred_at": "2025-03-10T00:00:00Z",
    "time_precision": "day",
    "place": "Суджа",
    "citations": [{"source": "isw", "stance": "reports", "url": "https://example.org/report"}],
}


@router.post(
    "/events",
    status_code=201,
    summary="Create an event",
    description="A plain JSON body or a GeoJSON Feature. The point defaults to the place's. "
    "`dataset` + `external_id`, when given, make a retry safe (409 instead of a duplicate).",
    response_class=Response,
    responses={201: {"description": "Created; `Location` and `ETag` set"}, **WRITE_ERRORS},
    dependencies=[Depends(json_only)],
)
@router.post(
    "/collections/events/items",
    status_code=201,
    summary="Create an event (OGC API – Features Part 4)",
    response_class=Response,
    responses={201: {"description": "Created; `Location` and `ETag` set"}, **WRITE_ERRORS},
    dependencies=[Depends(json_only)],
    include_in_schema=True,
)
async def create_event(
    request: Request,
    engine: Primary,
    who: Writer,
    body: Annotated[EventCreate, Body(examples=[CREATE_EXAMPLE])],
) -> Response:
    done = await writes.create_event(engine, body, who)
    return await written_event(request, engine, done, 201)


@router.put(
    "/events/{event_id:int}",
    summary="Replace an event's fields",
    description=IF_MATCH_DOC,
    response_class=Response,
    responses=WRITE_ERRORS,
    dependencies=[Depends(json_only)],
)
@router.put(
    "/collections/events/items/{event_id}",
    summary="Replace an event (OGC API – Features Part 4)",
    description=IF_MATCH_DOC,
    response_class=Response,
    responses=WRITE_ERRORS,
    dependencies=[Depends(json_only)],
)
async def replace_event(
    request: Request,
    engine: Primary,
    who: Writer,
    event_id: EventId,
    expected: IfMatch,
    body: Annotated[EventUpdate, Body(examples=[CREATE_EXAMPLE | {"citations": None}])],
) -> Response:
    done = await writes.replace_event(engine, event_id, body, expected, who)
    return await written_event(request, engine, done, 200)


PATCH_DOC = (
    "The fields, or a partial Feature (`properties`, `geometry`). `null` removes a field (it "
    "takes its default); a `geometry` replaces the point whole. The event must keep a place or "
    "a point, and its span must not end before it starts."
)
PATCH_BODY = {
    "required": True,
    # The fields, or a Feature's properties, each optional (app/web/contract.py defines it).
    "content": {MERGE_PATCH: {"schema": {"$ref": "#/components/schemas/EventPatch"},
                              "example": {"verification": "disputed", "fatalities": None}}},
}  # fmt: skip


@router.patch(
    "/events/{event_id:int}",
    summary="Change some fields of an event (JSON Merge Patch, RFC 7386)",
    description=f"{PATCH_DOC} {IF_MATCH_DOC}",
    response_class=Response,
    responses=WRITE_ERRORS,
    openapi_extra={"requestBody": PATCH_BODY},
)
@router.patch(
    "/collections/events/items/{event_id}",
    summary="Change some fields of an event (OGC API – Features Part 4)",
    description=f"{PATCH_DOC} {IF_MATCH_DOC}",
    response_class=Response,
    responses=WRITE_ERRORS,
    openapi_extra={"requestBody": PATCH_BODY},
)
async def patch_event(
    request: Request, engine: Primary, who: Writer, event_id: EventId, expected: IfMatch
) -> Response:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in (MERGE_PATCH, "application/json"):
        raise UnsupportedMediaType(f"Send {MERGE_PATCH}, not {media!r}.")
    try:
        patch = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise InvalidBody("body", "not valid JSON") from None
    done = await writes.patch_event(engine, event_id, patch, expected, who)
    return await written_event(request, engine, done, 200)


@router.delete(
    "/events/{event_id:int}",
    status_code=204,
    summary="Delete an event (soft: it stays in history and can be restored)",
    description=IF_MATCH_DOC,
    response_class=Response,
    responses=WRITE_ERRORS,
)
@router.delete(
    "/collections/events/items/{event_id}",
    status_code=204,
    summary="Delete an event (OGC API – Features Part 4)",
    description=IF_MATCH_DOC,
    response_class=Response,
    responses=WRITE_ERRORS,
)
async def delete_event(
    engine: Primary, who: Writer, event_id: EventId, expected: IfMatch
) -> Response:
    done = await writes.set_deleted(engine, event_id, True, expected, who)
    return Response(status_code=204, headers={"ETag": f'"{done.version}"', **await written(engine)})


@router.post(
    "/events/{event_id:int}/restore",
    summary="Undo a deletion",
    description=IF_MATCH_DOC,
    response_class=Response,
    responses=WRITE_ERRORS,
)
async def restore_event(
    request: Request, engine: Primary, who: Writer, event_id: EventId, expected: IfMatch
) -> Response:
    done = await writes.set_deleted(engine, event_id, False, expected, who)
    return await written_event(request, engine, done, 200)


@router.post(
    "/events/{event_id:int}/sources",
    summary="Cite a source on an event (claims and counter-claims)",
    description="Adds a citation with its stance; an event whose verification was not set by "
    f"hand has it derived again from all its citations. {IF_MATCH_DOC}",
    response_class=Response,
    responses=WRITE_ERRORS,
    dependencies=[Depends(json_only)],
)
async def cite_source(
    request: Request,
    engine: Primary,
    who: Writer,
    event_id: EventId,
    expected: IfMatch,
    body: CitationBody,
) -> Response:
    done = await writes.add_citation(engine, event_id, body, expected, who)
    return await written_event(request, engine, done, 200)


@router.get("/events/{event_id:int}/history", summary="Every revision of an event, with diffs")
async def event_history(
    request: Request, engine: Primary, _who: Reader, event_id: EventId
) -> dict[str, Any]:
    return await history.event_history(engine, event_id, str(request.base_url).rstrip("/"))


@router.get("/sources", summary="Every source, with how many citations it has")
async def list_sources(engine: Primary, _who: Reader) -> dict[str, Any]:
    return {"sources": await reads.sources(engine)}


@router.post(
    "/sources",
    status_code=201,
    summary="Register a source",
    responses={409: {"description": "The slug is taken"}, **WRITE_ERRORS},
    dependencies=[Depends(json_only)],
)
async def create_source(engine: Primary, _who: Writer, body: SourceCreate) -> Response:
    slug = await writes.create_source(engine, body)
    return Response(
        json.dumps({"slug": slug}), status_code=201, media_type="application/json",
        headers={"Location": f"/sources#{slug}", **await written(engine)},
    )  # fmt: skip
