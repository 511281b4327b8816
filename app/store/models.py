"""Tables (SQLAlchemy 2 + GeoAlchemy2). SRID 4326, lon/lat order, everywhere."""

from datetime import date, datetime, timedelta
from enum import StrEnum
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
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.domain.vocab import (
    EventType,
    LocationPrecision,
    Operation,
    PlaceKind,
    SourceKind,
    Stance,
    TimePrecision,
    Verification,
    values,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def one_of(column: str, enum: type[StrEnum]) -> CheckConstraint:
    """A CHECK that keeps a text column inside a controlled vocabulary."""
    allowed = ", ".join(f"'{v}'" for v in values(enum))
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


def lonlat_in_range(column: str) -> CheckConstraint:
    """Geometries must be WGS84 and inside the lon/lat domain."""
    return CheckConstraint(
        f"ST_SRID({column}) = 4326 AND ST_XMin({column}) >= -180 AND ST_XMax({column}) <= 180"
        f" AND ST_YMin({column}) >= -90 AND ST_YMax({column}) <= 90",
        name=f"{column}_wgs84",
    )


def created_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_at() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Place(Base):
    __tablename__ = "places"
    __table_args__ = (
        one_of("kind", PlaceKind),
        lonlat_in_range("geom"),
        lonlat_in_range("boundary"),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        CheckConstraint("country_code ~ '^[A-Z]{2}$'", name="country_code_format"),
        Index("ix_places_geom", "geom", postgresql_using="gist"),
        Index("ix_places_boundary", "boundary", postgresql_using="gist"),
        Index("ix_places_parent_id", "parent_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str | None] = mapped_column(String(2))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    geom: Mapped[Any] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    boundary: Mapped[Any | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=True
    )
    geonames_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    iso_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    population: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class PlaceName(Base):
    """Every spelling a user may type; ``name_key`` is the folded form searched with trigrams."""

    __tablename__ = "place_names"
    __table_args__ = (
        UniqueConstraint("place_id", "name", "lang"),
        Index(
            "ix_place_names_name_key_trgm",
            "name_key",
            postgresql_using="gin",
            postgresql_ops={"name_key": "gin_trgm_ops"},
        ),
        Index("ix_place_names_name_key", "name_key"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(16))
    name_key: Mapped[str] = mapped_column(Text)


class Source(Base):
    __tablename__ = "sources"
    __table_args__ = (
        one_of("kind", SourceKind),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    country_code: Mapped[str | None] = mapped_column(String(2))
    url: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


DURING = (
    "CASE WHEN occurred_until IS NULL OR occurred_until = occurred_at "
    "THEN tstzrange(occurred_at, occurred_at, '[]') "
    "ELSE tstzrange(occurred_at, occurred_until, '[)') END"
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
        Index("ix_events_occurred_at_id", "occurred_at", "id"),
        Index("ix_events_place_id", "place_id"),
        Index("ix_events_updated_at", "updated_at"),
        Index("ix_events_time_end", text("upper(during)")),
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


class EventSource(Base):
    """One citation: who said what about an event, and with which stance."""

    __tablename__ = "event_sources"
    __table_args__ = (
        one_of("stance", Stance),
        UniqueConstraint("event_id", "source_id", "url"),
        Index("ix_event_sources_source_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="RESTRICT"))
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stance: Mapped[str] = mapped_column(String(10))
    excerpt: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


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


class Feed(Base):
    """A live feed's state: what has been merged from upstream, and the run under way."""

    __tablename__ = "feeds"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    # Upstream change times (Unix seconds) merged up to: edits and additions, deletions.
    mark: Mapped[int | None] = mapped_column(BigInteger)
    deleted_mark: Mapped[int | None] = mapped_column(BigInteger)
    # The unfinished run: the marks it asked from, its next page, when it started.
    run: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # Versioned releases merged in full (UCDP GED 25.1, Candidate 26.0.8), in order.
    releases: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class ApiKey(Base):
    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(
            "scopes <@ ARRAY['read', 'write', 'admin']::text[] AND cardinality(scopes) > 0",
            name="scopes_allowed",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[datetime] = created_at()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


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
