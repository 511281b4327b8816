"""Event spans are half-open: [occurred_at, occurred_until), an instant when they are equal.

A report "on 18 March" is stored as 18 March 00:00 → 19 March 00:00 UTC; with a closed span
it also matched queries for 19 March. Now the end is exclusive, like OGC intervals.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HALF_OPEN = (
    "CASE WHEN occurred_until IS NULL OR occurred_until = occurred_at "
    "THEN tstzrange(occurred_at, occurred_at, '[]') "
    "ELSE tstzrange(occurred_at, occurred_until, '[)') END"
)
CLOSED = "tstzrange(occurred_at, COALESCE(occurred_until, occurred_at), '[]')"


def _redefine(expression: str) -> None:
    op.execute("DROP INDEX ix_events_geom_during")
    op.execute("DROP INDEX ix_events_during")
    op.execute("DROP INDEX ix_events_time_end")
    op.execute("ALTER TABLE events DROP COLUMN during")
    op.execute(f"ALTER TABLE events ADD COLUMN during tstzrange GENERATED ALWAYS AS ({expression}) STORED")
    op.execute("CREATE INDEX ix_events_geom_during ON events USING gist (geom, during)")
    op.execute("CREATE INDEX ix_events_during ON events USING gist (during)")
    op.execute("CREATE INDEX ix_events_time_end ON events (upper(during))")


def upgrade() -> None:
    _redefine(HALF_OPEN)


def downgrade() -> None:
    _redefine(CLOSED)
