"""Indexes for text search over events and for the end of their time spans.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must stay identical to app.store.queries.events.SEARCH_DOCUMENT for the planner to use it.
SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, "
    "COALESCE(title, '') || ' ' || COALESCE(description, ''))"
)


def upgrade() -> None:
    op.execute(f"CREATE INDEX ix_events_search ON events USING gin ({SEARCH_DOCUMENT})")
    op.execute("CREATE INDEX ix_events_time_end ON events (upper(during))")


def downgrade() -> None:
    op.execute("DROP INDEX ix_events_time_end")
    op.execute("DROP INDEX ix_events_search")
