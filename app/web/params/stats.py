"""Query parameters of the map endpoints: vector tiles and aggregates (/tiles, /stats)."""

from typing import Annotated, Literal

from fastapi import Depends, Query

from app.domain.errors import InvalidParameter
from app.domain.filters import EventFilter
from app.web.params.events import FILTER_PARAMETERS, event_filter

Interval = Literal["day", "week", "month"]
GroupBy = Literal["event_type", "verification"]
AdminKind = Literal["country", "region", "district"]
GridShape = Literal["square", "hexagon"]


async def live_event_filter(f: Annotated[EventFilter, Depends(event_filter)]) -> EventFilter:
    """The /events filters; deleted events are never drawn or counted."""
    if f.include_deleted:
        raise InvalidParameter(
            "include_deleted", "tiles and aggregates cover live events only; drop this parameter"
        )
    return f


LiveFilter = Annotated[EventFilter, Depends(live_event_filter)]
# The same parameters documented for routes reading LiveFilter: include_deleted only false.
LIVE_FILTER_PARAMETERS = {"parameters": [
    {**p, "schema": {**p["schema"], "enum": [False]},
     "description": "Only `false`: tiles and aggregates cover live events."}
    if p["name"] == "include_deleted" else p
    for p in FILTER_PARAMETERS["parameters"]
]}  # fmt: skip

IntervalQuery = Annotated[
    Interval,
    Query(
        description="Bucket width: UTC `day`, ISO `week` (from Monday) or calendar `month`.",
        examples=["week"],
    ),
]
GroupByQuery = Annotated[
    GroupBy | None,
    Query(description="Also split each bucket by this property.", examples=["event_type"]),
]
AdminKindQuery = Annotated[
    AdminKind,
    Query(
        description="Which admin level to count per (places of this kind with a boundary).",
        examples=["region"],
    ),
]
StatsFormat = Annotated[
    Literal["json", "geojson"],
    Query(
        alias="f",
        description="`json` (a list of counts) or `geojson` (the boundaries with the counts).",
        examples=["geojson"],
    ),
]
SizeQuery = Annotated[
    float,
    Query(
        ge=0.01,  # 10 m; smaller cells only make grids that are refused as too many anyway
        le=10_000,
        description="Cell size in km on the ground at the bbox's middle latitude: the edge of a "
        "square, or the edge (centre-to-corner distance) of a hexagon.",
        examples=[10],
    ),
]
ShapeQuery = Annotated[GridShape, Query(description="Cell shape.", examples=["hexagon"])]
