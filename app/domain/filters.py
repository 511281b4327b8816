"""Frozen filter objects: what a request asks for, parsed and validated, free of HTTP."""

from dataclasses import dataclass
from datetime import datetime

from app.domain.cql import CqlFilter


@dataclass(frozen=True)
class BBox:
    """A WGS84 box; ``min_lon > max_lon`` means it crosses the antimeridian (OGC rule)."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.min_lon > self.max_lon

    def parts(self) -> tuple["BBox", ...]:
        """The box as one or two boxes that do not cross the antimeridian."""
        if not self.crosses_antimeridian:
            return (self,)
        return (
            BBox(self.min_lon, self.min_lat, 180.0, self.max_lat),
            BBox(-180.0, self.min_lat, self.max_lon, self.max_lat),
        )


@dataclass(frozen=True)
class Interval:
    """A time interval; ``None`` is an open end. ``end_inclusive`` is False for whole days."""

    start: datetime | None
    end: datetime | None
    end_inclusive: bool = True

    @property
    def is_unbounded(self) -> bool:
        return self.start is None and self.end is None


@dataclass(frozen=True)
class SortKey:
    """One public sort column and its direction."""

    name: str
    descending: bool = False


DEFAULT_EVENT_SORT: tuple[SortKey, ...] = (SortKey("occurred_at"), SortKey("id"))


CursorValue = str | int | float | datetime


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the sort-key values of the row next to the page edge."""

    values: tuple[CursorValue, ...]
    backward: bool = False


@dataclass(frozen=True)
class Page:
    limit: int
    cursor: Cursor | None = None
    sort: tuple[SortKey, ...] = DEFAULT_EVENT_SORT

    @property
    def backward(self) -> bool:
        """A previous page: read in reverse order from the cursor."""
        return self.cursor is not None and self.cursor.backward


@dataclass(frozen=True)
class EventFilter:
    """Every way to narrow the events; all conditions compose with AND."""

    bbox: BBox | None = None
    interval: Interval | None = None
    event_types: tuple[str, ...] = ()
    verifications: tuple[str, ...] = ()
    place: str | None = None  # id, slug or any spelling; resolved to place_ids before querying
    within: str | None = None  # a region with a boundary, resolved to within_place_id
    place_ids: tuple[int, ...] = ()
    within_place_id: int | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    sources: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    min_fatalities: int | None = None
    updated_since: datetime | None = None
    # The change feed by transaction (app.store: events.change_xid): written by a transaction
    # id at or above `changes_after` and below `changes_before`.
    changes_after: int | None = None
    changes_before: int | None = None
    include_deleted: bool = False
    text: str | None = None
    cql: CqlFilter | None = None  # a CQL2 `filter`, checked against the queryables
    datasets: tuple[str, ...] = ()  # from any of these datasets
    external_id: str | None = None  # the event's id in its dataset


@dataclass(frozen=True)
class EventQuery:
    """A whole events request: what to match, which page, which properties, whether to count."""

    filter: EventFilter
    page: Page
    properties: tuple[str, ...] | None = None
    count: bool = False
    as_of: datetime | None = None  # answer from the revisions known at this instant


@dataclass(frozen=True)
class PlaceFilter:
    """Every way to narrow the gazetteer; ``query`` switches to ranked name search."""

    bbox: BBox | None = None
    kinds: tuple[str, ...] = ()
    country_codes: tuple[str, ...] = ()
    query: str | None = None
    within: str | None = None  # a region's id, slug or name, resolved to within_place_id
    within_place_id: int | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    boundary: bool = False  # serve boundaries (where known) instead of points
