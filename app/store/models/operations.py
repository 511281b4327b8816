"""Running the service: API keys and the live feeds' state."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.store.models.base import Base, created_at


class Feed(Base):
    """A live feed's state: what has been merged from upstream, and the run under way."""

    __tablename__ = "feeds"

    # The feed and its filters (`acled country=Ukraine`): each filter set has its own marks.
    name: Mapped[str] = mapped_column(Text, primary_key=True)
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


class RateBucket(Base):
    """A caller's write rate-limit bucket (app.store.ratelimits): shared by every process.
    UNLOGGED (migration 0014): a crash only refills every bucket."""

    __tablename__ = "rate_buckets"
    __table_args__ = ({"prefixes": ("UNLOGGED",)},)

    bucket: Mapped[str] = mapped_column(Text, primary_key=True)  # key:<name> or ip:<address>
    tokens: Mapped[float] = mapped_column(Double)
    stamp: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    granted: Mapped[bool] = mapped_column(Boolean)


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
