"""Writes: whether an event's verification was set by hand, and when a key was last used.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows that exist (the seeds) were verified by hand; new API rows say otherwise.
    op.add_column(
        "events",
        sa.Column("verification_explicit", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.add_column("api_keys", sa.Column("last_used_at", sa.DateTime(timezone=True)))
    op.create_index("ix_event_revisions_event_id_changed_at", "event_revisions",
                    ["event_id", "changed_at"])  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_event_revisions_event_id_changed_at", "event_revisions")
    op.drop_column("api_keys", "last_used_at")
    op.drop_column("events", "verification_explicit")
