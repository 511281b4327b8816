"""rate_buckets: the write rate limits' token buckets, shared by every API process.

One row per caller (`key:<name>`, `ip:<address>`): the tokens left when it last wrote, and
when. UNLOGGED: a crash forgets them (every caller starts with a full bucket), and keeping
them costs no WAL on the write path.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE UNLOGGED TABLE rate_buckets (
            bucket text NOT NULL,
            tokens double precision NOT NULL,
            stamp timestamptz NOT NULL,
            granted boolean NOT NULL,
            CONSTRAINT pk_rate_buckets PRIMARY KEY (bucket)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE rate_buckets")
