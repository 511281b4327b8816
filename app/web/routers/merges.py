"""Merging two events that report one happening, and undoing it (app.services.merges).

Both need a key with the write scope. The survivor keeps every citation of both (each copy
names the event it came from), the union of actors and tags; the other becomes a tombstone
whose URL redirects (308) to the survivor until it is unmerged.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import Response

from app.domain.bodies import MergeBody
from app.services import merges
from app.web.auth import Writer
from app.web.params.common import forbid_unknown_params
from app.web.routers.deps import Primary
from app.web.routers.writes import WRITE_ERRORS, EventId, IfMatch, json_only, written_event

router = APIRouter(tags=["merges"], dependencies=[Depends(forbid_unknown_params)])

MERGE_DOC = (
    "Merge the event named in the body into this one (the survivor). `If-Match` is this "
    "event's ETag, the body's `version` the other's; either, when given, must be current "
    "(412). The answer is the survivor, with every citation of both: a copied citation's "
    "`merged_from` names the event it came from. The other event's URL then redirects here "
    "(308), `GET /events?dataset=…&external_id=…` of its record finds this one, and the "
    "change feed lists it as deleted with `merged_into`."
)
MERGE_EXAMPLE = {"event": 12, "version": 1}


@router.post(
    "/events/{event_id:int}/merge",
    summary="Merge another event that reports the same happening into this one",
    description=MERGE_DOC,
    response_class=Response,
    responses={
        **WRITE_ERRORS,
        404: {"description": "No such event (this one or the body's)"},
        409: {
            "description": "Either event is deleted or already merged, it is this one, or "
            "the merge would make a cycle"
        },
    },
    dependencies=[Depends(json_only)],
)
async def merge_event(
    request: Request,
    engine: Primary,
    who: Writer,
    event_id: EventId,
    expected: IfMatch,
    body: Annotated[MergeBody, Body(examples=[MERGE_EXAMPLE])],
) -> Response:
    done = await merges.merge_events(engine, event_id, body.event, (expected, body.version), who)
    return await written_event(request, engine, done.survivor, 200)


@router.post(
    "/events/{event_id:int}/unmerge",
    summary="Undo a merge: this event comes back and its survivor loses what it brought",
    description="`event_id` is the merged event (the tombstone); `If-Match` is its ETag. Both "
    "events read again as they did before the merge; their histories record it.",
    response_class=Response,
    responses={**WRITE_ERRORS, 409: {"description": "The event is not merged"}},
)
async def unmerge_event(
    request: Request, engine: Primary, who: Writer, event_id: EventId, expected: IfMatch
) -> Response:
    restored, _survivor = await merges.unmerge_event(engine, event_id, expected, who)
    return await written_event(request, engine, restored, 200)
