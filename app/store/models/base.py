"""The declarative base with its constraint naming convention, and helpers every table uses."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Index,
    MetaData,
    func,
    literal_column,
)
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from app.domain.vocab import values

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


class XID8(UserDefinedType[int]):
    """PostgreSQL's 64-bit transaction id (asyncpg reads and sends it as an int)."""

    cache_ok = True

    def get_col_spec(self, **kw: object) -> str:
        return "xid8"


# So that reflection (and Alembic's comparison of models and migrations) reads it back.
postgresql_base.ischema_names["xid8"] = XID8


# Events whose time window or match radius is wider than any fine event's (migration 0016).
COARSE_EVENT = (
    "time_precision IN ('week', 'month', 'year') "
    "OR location_precision IN ('district', 'region', 'country')"
)
# The two kinds of coarse event, each in its own index (the matcher probes them apart).
COARSE_TIME_AT_FINE_PLACE = (
    "time_precision IN ('week', 'month', 'year') "
    "AND location_precision IN ('exact', 'near', 'settlement')"
)
AREA_PRECISIONS = ("district", "region", "country")  # a place with a boundary, maybe
COARSE_PLACE = "location_precision IN (" + ", ".join(f"'{p}'" for p in AREA_PRECISIONS) + ")"
DURING = (
    "CASE WHEN occurred_until IS NULL OR occurred_until = occurred_at "
    "THEN tstzrange(occurred_at, occurred_at, '[]') "
    "ELSE tstzrange(occurred_at, occurred_until, '[)') END"
)


# Place and span as one N-D box (migration 0013); a query names the same expression
# (app.store.queries.slices) for the planner to use the index.
def space_time_index(name: str) -> Index:
    return Index(
        name,
        func.event_space_time(literal_column("geom"), literal_column("during")).label("key"),
        postgresql_using="gist",
        postgresql_ops={"key": "gist_geometry_ops_nd"},
    )
