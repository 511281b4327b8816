"""Which events may report the same happening: for one event, or for a whole dataset.

Reads (app.services.matching); a person decides, and `POST /events/{id}/merge` acts.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse

from app.services import matching
from app.services.matching import MatchOptions
from app.store.queries.matches import DEFAULT_MIN_SCORE
from app.web.params.common import dataset_query, forbid_unknown_params
from app.web.problems import MERGED_RESPONSE
from app.web.routers.deps import Engine
from app.web.routers.writes import EventId

router = APIRouter(tags=["matches"], dependencies=[Depends(forbid_unknown_params)])

MinScore = Annotated[
    float,
    Query(ge=0, le=1, description="Only candidates scoring at least this (0–1).", examples=[0.6]),
]
SameDataset = Annotated[
    bool, Query(description="Also candidates from the event's own dataset.", examples=[True])
]
MATCHES_DOC = (
    "Other live events that may report the same happening, best first. A candidate must lie "
    "within the distance the coarser location precision allows (2 km for `exact` … 250 km, "
    "or the region itself, for `region`) and overlap in the time the coarser time precision "
    "allows (an hour either side of a `minute`, the whole day of a `day` …). Its `score` "
    "(0–1) adds 0.30 × nearness in space, 0.25 × in time, 0.20 for the same event type (0.10 "
    "for the same family: strikes, ground fighting), 0.10 for the same place and 0.15 × title "
    "similarity (pg_trgm); `reasons` gives each figure. Events of the same dataset only with "
    "`same_dataset=true`."
)


@router.get(
    "/events/{event_id:int}/matches",
    summary="Events that may report the same happening as this one",
    description=MATCHES_DOC,
    responses={404: {"description": "No such event"}, **MERGED_RESPONSE},
)  # fmt: skip
async def event_matches(
    engine: Engine,
    event_id: EventId,
    min_score: MinScore = DEFAULT_MIN_SCORE,
    limit: Annotated[
        int, Query(ge=1, le=100, description="Candidates at most.", examples=[5])
    ] = 10,
    same_dataset: SameDataset = False,
) -> dict[str, Any]:
    options = MatchOptions(min_score, limit, same_dataset)
    rows = await matching.event_matches(engine, event_id, options)
    return {"event_id": event_id, "min_score": min_score,
            "matches": [matching.candidate(row) for row in rows]}  # fmt: skip


@router.get(
    "/matches",
    summary="Candidate pairs for a whole dataset, to review (NDJSON)",
    description="One line per candidate pair, `event_id` from `dataset`, best candidates "
    "first for each event; `against` keeps only candidates from those datasets. The same as "
    f"`frontline matches`. {MATCHES_DOC}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}},
               404: {"description": "No events in the dataset"}},
)  # fmt: skip
async def dataset_matches(
    engine: Engine,
    dataset: Annotated[str, dataset_query("Match every live event of this dataset.", "acled")],
    against: Annotated[
        list[str],
        Query(
            description="Only candidates from these datasets (repeat, or separate with commas).",
            examples=[["ucdp-ged"]],
        ),
    ] = [],  # noqa: B006
    min_score: MinScore = DEFAULT_MIN_SCORE,
    per_event: Annotated[
        int, Query(ge=1, le=20, description="Candidates per event.", examples=[3])
    ] = 3,
    same_dataset: SameDataset = False,
) -> Response:
    wanted = tuple(name for value in against for name in value.split(",") if name)
    options = MatchOptions(min_score, per_event, same_dataset, wanted)
    batches = await matching.dataset_matches(engine, dataset, options)
    return StreamingResponse(_lines(batches), media_type="application/x-ndjson")


async def _lines(batches: AsyncIterator[list[Any]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        yield b"".join(orjson.dumps(matching.candidate(row)) + b"\n" for row in batch)
