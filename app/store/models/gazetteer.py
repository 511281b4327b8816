"""The gazetteer: places, their spellings, and the sources that report."""

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocab import PlaceKind, SourceKind
from app.store.models.base import Base, created_at, lonlat_in_range, one_of, updated_at


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
