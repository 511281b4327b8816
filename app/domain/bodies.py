"""Write bodies: what a client may send to create or change events, sources and citations.

An event body is plain JSON or a GeoJSON Feature (its `properties` plus its `geometry`).
Every rule a client can break is checked here, so the error names the field and nothing is
written: unknown fields, NaN/Infinity, coordinates out of range, an empty or non-Point
geometry, a time span that ends before it starts, values outside the vocabularies.
"""

import math
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from annotated_types import Interval
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.domain.parsing import SOME_TEXT, WHITE_SPACE
from app.domain.vocab import (
    EventType,
    LocationPrecision,
    SourceKind,
    Stance,
    TimePrecision,
    Verification,
)

# PostgreSQL text cannot hold NUL: refuse it here, naming the field, rather than fail later.
NO_NUL = r"^[^\x00]*$"
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=SOME_TEXT)
]
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=NO_NUL)]
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=120)]
Url = Annotated[
    str, StringConstraints(pattern=rf"^https?://[^{WHITE_SPACE}\x00]+$", max_length=2_000)
]
# The widths of their columns (events.dataset varchar(64), events.external_id varchar(200)).
DATASET_MAX = 64
Dataset = Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=DATASET_MAX)]
ExternalId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=SOME_TEXT)
]


_EDGES = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


def _storable(moment: datetime) -> datetime:
    """An instant PostgreSQL stores as itself: in years 1–9999 in UTC, and not the first or
    last one, which the driver writes as -infinity and infinity."""
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("must lie in years 1 to 9999 in UTC") from None
    if utc in _EDGES:
        raise ValueError("must lie strictly inside years 1 to 9999")
    return moment


def _text_only(value: Any) -> Any:
    """An instant is written as RFC 3339 text; a number is not read as a Unix time."""
    if isinstance(value, int | float):
        raise ValueError("must be an RFC 3339 date-time text, such as 2025-03-10T00:00:00Z")
    return value


def _not_boolean(value: Any) -> Any:
    """JSON true and false are not the numbers 1 and 0."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_text_only), AfterValidator(_storable)]
PlaceId = Annotated[int, BeforeValidator(_not_boolean)]
# Bounds before the validator, so the JSON schema states them (minimum, maximum).
Fatalities = Annotated[int, Interval(ge=0, le=10_000_000), BeforeValidator(_not_boolean)]
# An event named in a body: JSON-safe integers (2^53), as every JSON client can send them.
EventRef = Annotated[int, Interval(ge=1, le=2**53 - 1), BeforeValidator(_not_boolean)]
Version = Annotated[int, Interval(ge=1, le=2**31 - 1), BeforeValidator(_not_boolean)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=20_000)


class PointGeometry(Strict):
    """A GeoJSON Point in WGS84 lon/lat (a third coordinate, a height, is ignored)."""

    type: Literal["Point"]
    coordinates: list[StrictFloat] = Field(min_length=2, max_length=3)  # `false` is no number

    @field_validator("coordinates")
    @classmethod
    def _in_range(cls, value: list[float]) -> list[float]:
        lon, lat = value[0], value[1]
        if not all(math.isfinite(v) for v in value):
            raise ValueError("coordinates must be finite numbers")
        if not -180 <= lon <= 180:
            raise ValueError(f"longitude {lon:g} is outside [-180, 180]")
        if not -90 <= lat <= 90:
            raise ValueError(f"latitude {lat:g} is outside [-90, 90]")
        return value[:2]


class CitationBody(Strict):
    """One source's word on an event."""

    source: Slug = Field(description="The source's slug (see `GET /sources`).", examples=["isw"])
    stance: Stance = Field(description="What the source does with the claim.")
    url: Url | None = Field(default=None, examples=["https://www.understandingwar.org/"])
    published_at: Instant | None = None
    excerpt: LongText | None = None


class MergeBody(Strict):
    """The event to merge into the one named in the path."""

    event: EventRef = Field(description="The other event's id.", examples=[12])
    version: Version | None = Field(
        default=None,
        description="The other event's current version (its ETag's number); "
        "when given, the merge is refused (412) if it changed since.",
    )


class EventUpdate(Strict):
    """Every editable field of an event (PUT replaces them all; PATCH merges into them)."""

    title: ShortText
    description: LongText | None = None
    event_type: EventType
    sub_event_type: ShortText | None = None
    actors: list[ShortText] = Field(default_factory=list, max_length=50)
    fatalities: Fatalities | None = None
    occurred_at: Instant
    occurred_until: Instant | None = None
    time_precision: TimePrecision = TimePrecision.DAY
    place: PlaceId | ShortText | None = Field(
        default=None,
        description="The place the event is tied to: an id, a slug or any known spelling.",
        examples=["Demidovka"],
    )
    geometry: PointGeometry | None = Field(
        default=None, description="The event's point; defaults to the place's point."
    )
    location_precision: LocationPrecision = LocationPrecision.SETTLEMENT
    verification: Verification | None = Field(
        default=None,
        description="Set by hand; when omitted it is derived from the citations.",
    )
    tags: list[ShortText] = Field(default_factory=list, max_length=50)

    @model_validator(mode="before")
    @classmethod
    def _unwrap_feature(cls, data: Any) -> Any:
        """A GeoJSON Feature is its properties plus its geometry."""
        if is_feature(data):
            return feature_fields(data, cls.model_fields.keys())
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "EventUpdate":
        if self.occurred_until is not None and self.occurred_until < self.occurred_at:
            raise ValueError("occurred_until must not be before occurred_at")
        if self.place is None and self.geometry is None:
            raise ValueError("give a place or a geometry (or both)")
        return self


class EventCreate(EventUpdate):
    """A new event; `dataset` + `external_id` make re-sending it safe (409, not a duplicate)."""

    dataset: Dataset = "frontline"
    external_id: ExternalId | None = None
    citations: list[CitationBody] = Field(default_factory=list, max_length=200)


class SourceCreate(Strict):
    slug: Slug = Field(examples=["kyiv-independent"])
    name: ShortText = Field(examples=["The Kyiv Independent"])
    kind: SourceKind
    country_code: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    url: Url | None = None


# Fields of EventUpdate, for turning a stored event back into a body (PATCH merges into it).
EDITABLE_FIELDS = tuple(EventUpdate.model_fields)


# Properties of the Features Frontline serves that a client cannot set. A Feature sent back as
# it was read (GIS tools do: QGIS replaces with every property it downloaded) carries them;
# they are ignored, and `place_id` stands for `place` when `place` is absent.
SERVED_ONLY = frozenset({"place_id", "place_slug", "place_name", "source_count", "citations",
                         "dataset", "external_id", "version", "created_at", "updated_at",
                         "deleted_at"})  # fmt: skip


def is_feature(data: Any) -> bool:
    """A GeoJSON Feature, or a partial one (`{"properties": {…}}`, as QGIS patches)."""
    return isinstance(data, dict) and (data.get("type") == "Feature" or "properties" in data)


def feature_fields(data: dict[str, Any], accepted: Collection[str]) -> dict[str, Any]:
    """The flat fields of a (partial) Feature: its properties and its geometry, less the
    served-only properties the body does not accept (other members are refused)."""
    properties = data.get("properties") or {}
    if not isinstance(properties, dict):
        raise ValueError("a Feature's properties must be an object")
    if "geometry" in properties:
        raise ValueError("a Feature's geometry is its own member, not one of its properties")
    fields = {k: v for k, v in properties.items() if k in accepted or k not in SERVED_ONLY}
    place_id = properties.get("place_id")
    if place_id is not None and (isinstance(place_id, bool) or not isinstance(place_id, int)):
        raise ValueError("properties.place_id must be a place's id (a number) or null")
    if "place" not in properties and place_id is not None:
        fields["place"] = place_id
    if foreign := [k for k in data if k not in ("type", "id", "properties", "geometry")]:
        raise ValueError(f"a Feature has no member {foreign[0]!r} here; put fields in properties")
    return {**fields, **({"geometry": data["geometry"]} if "geometry" in data else {})}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, null deletes, the rest replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
