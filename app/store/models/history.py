"""Each event's revisions: a snapshot, its columns and when it was the current version."""

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocab import Operation
from app.store.models.base import DURING, Base, one_of, space_time_index


class EventRevision(Base):
    """An event after each change, written in the change's transaction: a full snapshot, and
    the event's columns with the interval during which this was the current version
    (migration 0011; ``as_of`` reads them through the same indexes a live page uses)."""

    __tablename__ = "event_revisions"
    __table_args__ = (
        one_of("operation", Operation),
        UniqueConstraint("event_id", "version"),
        Index("ix_event_revisions_changed_at", "changed_at"),
        Index("ix_event_revisions_event_id_changed_at", "event_id", "changed_at"),
        # as_of pages: the same two access paths as a live page, over the valid versions.
        Index("ix_event_revisions_gist", "geom", "during", "valid", postgresql_using="gist"),
        Index("ix_event_revisions_occurred_at_event_id", "occurred_at", "event_id"),
        space_time_index("ix_event_revisions_space_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(8))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # When the next version replaced this one (a trigger sets it); NULL while current.
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid: Mapped[Any] = mapped_column(
        TSTZRANGE, Computed("tstzrange(changed_at, superseded_at, '[)')", persisted=True)
    )
    # The event's columns at this version, as in `events`.
    dataset: Mapped[str] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(32))
    sub_event_type: Mapped[str | None] = mapped_column(Text)
    actors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    fatalities: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    occurred_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    during: Mapped[Any] = mapped_column(TSTZRANGE, Computed(DURING, persisted=True))
    time_precision: Mapped[str] = mapped_column(String(8))
    place_id: Mapped[int | None] = mapped_column(BigInteger)
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    location_precision: Mapped[str] = mapped_column(String(12))
    verification: Mapped[str] = mapped_column(String(12))
    verification_explicit: Mapped[bool] = mapped_column(Boolean)
    source_count: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    feature: Mapped[str] = mapped_column(Text, deferred=True)
    # Why the change was made, when its writer says (a feed's deletion: migration 0012).
    note: Mapped[str | None] = mapped_column(Text)
