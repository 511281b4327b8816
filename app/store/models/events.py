"""Events, their citations, and what triggers derive from them (tile cells, span bound)."""

from datetime import date, datetime, timedelta
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Interval,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSTZRANGE
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocab import EventType, LocationPrecision, Stance, TimePrecision, Verification
from app.store.models.base import (
    AREA_PRECISIONS,
    COARSE_EVENT,
    COARSE_PLACE,
    COARSE_TIME_AT_FINE_PLACE,
    DURING,
    XID8,
    Base,
    created_at,
    lonlat_in_range,
    one_of,
    space_time_index,
    updated_at,
)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("dataset", "external_id"),
        one_of("event_type", EventType),
        one_of("time_precision", TimePrecision),
        one_of("location_precision", LocationPrecision),
        one_of("verification", Verification),
        lonlat_in_range("geom"),
        CheckConstraint("occurred_until >= occurred_at", name="time_span_ordered"),
        CheckConstraint(
            "isfinite(occurred_at) AND (occurred_until IS NULL OR isfinite(occurred_until))",
            name="time_finite",
        ),
        CheckConstraint("fatalities >= 0", name="fatalities_not_negative"),
        CheckConstraint("version >= 1", name="version_positive"),
        # bbox + time in one index: the shape of nearly every read.
        Index("ix_events_geom_during", "geom", "during", postgresql_using="gist"),
        Index("ix_events_during", "during", postgresql_using="gist"),
        # Place and span as one 3-D box: bbox + window pages read it slice by slice (0013).
        space_time_index("ix_events_space_time"),
        Index("ix_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_events_place_id", "place_id"),
        Index("ix_events_updated_at", "updated_at"),
        Index("ix_events_change_xid", "change_xid"),
        Index("ix_events_time_end", text("upper(during)")),
        # The matcher's probe for coarse events, by the window they may match in
        # (app.store.queries.matches, migration 0016).
        Index(
            "ix_events_coarse_time",
            "geom",
            text("match_window(during, time_precision)"),
            postgresql_using="gist",
            postgresql_where=text(COARSE_TIME_AT_FINE_PLACE),
        ),
        # … a district, region or country by its place (whose boundary may hold the base),
        # or by its point, each precision apart (0018).
        Index(
            "ix_events_area_place_window",
            "place_id",
            text("match_window(during, time_precision)"),
            postgresql_using="gist",
            postgresql_where=text(COARSE_PLACE),
        ),
        *(
            Index(
                f"ix_events_{precision}_window",
                "geom",
                text("match_window(during, time_precision)"),
                postgresql_using="gist",
                postgresql_where=text(f"location_precision = '{precision}'"),
            )
            for precision in AREA_PRECISIONS
        ),
        # … and for fine ones, window first: on dense data the bbox + time index is
        # organised by place, and a probe walked thousands of its pages (migration 0017).
        Index(
            "ix_events_fine_window",
            text("match_window(during, time_precision)"),
            "geom",
            postgresql_using="gist",
            postgresql_where=text(f"NOT ({COARSE_EVENT})"),
        ),
        Index(
            "ix_events_merged_into", "merged_into", postgresql_where=text("merged_into IS NOT NULL")
        ),
        CheckConstraint(
            "merged_into IS NULL OR (deleted_at IS NOT NULL AND merged_into <> id)",
            name="merged_is_tombstone",
        ),
        # Text search over title + description; the expression is app.store.queries.events'.
        Index(
            "ix_events_search",
            text(
                "to_tsvector('simple'::regconfig, "
                "(COALESCE(title, ''::text) || ' '::text) || COALESCE(description, ''::text))"
            ),
            postgresql_using="gin",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    dataset: Mapped[str] = mapped_column(String(64), server_default=text("'frontline'"))
    external_id: Mapped[str | None] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_type: Mapped[str] = mapped_column(String(32))
    sub_event_type: Mapped[str | None] = mapped_column(Text)
    actors: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    fatalities: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    occurred_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The span an event covers, [occurred_at, occurred_until) (end exclusive, like OGC
    # intervals); a point in time when occurred_until is unknown or equal.
    during: Mapped[Any] = mapped_column(TSTZRANGE, Computed(DURING, persisted=True))
    time_precision: Mapped[str] = mapped_column(String(8), server_default=text("'day'"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    location_precision: Mapped[str] = mapped_column(String(12), server_default=text("'settlement'"))
    verification: Mapped[str] = mapped_column(String(12), server_default=text("'unverified'"))
    # False when `verification` is derived from the citations (app.domain.provenance).
    verification_explicit: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # How many citations it has (kept by triggers on event_sources, migration 0008).
    source_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The GeoJSON Feature text pages serve (kept by triggers, migration 0009; never loaded).
    feature: Mapped[str] = mapped_column(Text, deferred=True)
    # The transaction that last wrote it (migration 0015): the change feed's order. Rows older
    # than the column read 1.
    change_xid: Mapped[int] = mapped_column(XID8, server_default=text("pg_current_xact_id()"))
    # The event this one was merged into (it is then a tombstone: deleted_at is set too).
    merged_into: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("events.id", ondelete="RESTRICT")
    )


class EventSource(Base):
    """One citation: who said what about an event, and with which stance."""

    __tablename__ = "event_sources"
    __table_args__ = (
        one_of("stance", Stance),
        UniqueConstraint("event_id", "source_id", "url"),
        Index("ix_event_sources_source_id", "source_id"),
        Index(
            "ix_event_sources_merged_from",
            "merged_from",
            postgresql_where=text("merged_from IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stance: Mapped[str] = mapped_column(String(10))
    excerpt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
    # Set on a copy a merge made: the merged event the citation came from (unmerge drops it).
    merged_from: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))


class EventMerge(Base):
    """One merge: which event went into which, by whom, and what it added to the survivor's
    actors and tags (unmerge takes exactly those away again)."""

    __tablename__ = "event_merges"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    survivor_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    merged_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    merged_at: Mapped[datetime] = created_at()
    merged_by: Mapped[str] = mapped_column(Text)
    added_actors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    added_tags: Mapped[list[str]] = mapped_column(ARRAY(Text))
    unmerged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unmerged_by: Mapped[str | None] = mapped_column(Text)


class EventTileCell(Base):
    """Live events counted per Web Mercator grid cell (kept by triggers on ``events``, see
    migration 0006): cell (cx, cy) of ``level`` is tile (cx, cy) of that zoom; ``month`` is the
    UTC month of ``occurred_at``, or ``-infinity`` for the all-time rows. Positions are summed
    as fractions of the world's width/height (0..1 from the west/north)."""

    __tablename__ = "event_tile_cells"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    cx: Mapped[int] = mapped_column(Integer, primary_key=True)
    cy: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    verification: Mapped[str] = mapped_column(String(12), primary_key=True)
    events: Mapped[int] = mapped_column(Integer)
    fatalities: Mapped[int] = mapped_column(BigInteger)  # sum of the reported ones
    reported: Mapped[int] = mapped_column(Integer)  # how many report fatalities
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sum_x: Mapped[float] = mapped_column(Float(precision=53))
    sum_y: Mapped[float] = mapped_column(Float(precision=53))


class EventSpanBound(Base):
    """One row: the longest span of any event or revision ever stored (raised by triggers on
    ``events``, see migration 0007), which bounds how early a matching event can start."""

    __tablename__ = "event_span_bound"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    longest: Mapped[timedelta] = mapped_column(Interval)
