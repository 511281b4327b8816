"""Tables (SQLAlchemy 2 + GeoAlchemy2). SRID 4326, lon/lat order, everywhere."""

from app.store.models.base import DURING, Base
from app.store.models.events import Event, EventMerge, EventSource, EventSpanBound, EventTileCell
from app.store.models.gazetteer import Place, PlaceName, Source
from app.store.models.history import EventRevision
from app.store.models.operations import ApiKey, Feed, RateBucket

__all__ = ["DURING", "ApiKey", "Base", "Event", "EventMerge", "EventRevision", "EventSource",
           "EventSpanBound", "EventTileCell", "Feed", "Place", "PlaceName", "RateBucket",
           "Source"]  # fmt: skip
