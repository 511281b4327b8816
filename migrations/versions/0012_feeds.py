"""feeds: the state of each live feed (ACLED, UCDP), and a note on the revisions they write.

- ``feeds``: one row per feed and filter set (``acled country=Ukraine``). ``mark`` is the high-water mark of upstream changes already
  merged (ACLED: the Unix ``timestamp`` of the last add or edit), ``deleted_mark`` the same
  for upstream deletions; ``run`` is the unfinished run, if any (the mark it asked from, the
  next page, when it started), so a killed sync resumes where its last committed page ended;
  ``releases`` the versioned releases merged in full (UCDP: ``25.1``, ``26.0.8``).
  Every field moves in the transaction that merges the page it describes.
- ``event_revisions.note``: why a change was made when the writer says so (a feed's
  deletion: "deleted upstream by ACLED at …").

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE feeds (
            name text NOT NULL,
            mark bigint,
            deleted_mark bigint,
            run jsonb,
            last_run_at timestamptz,
            last_success_at timestamptz,
            last_error text,
            counts jsonb DEFAULT '{}'::jsonb NOT NULL,
            releases jsonb DEFAULT '[]'::jsonb NOT NULL,
            CONSTRAINT pk_feeds PRIMARY KEY (name)
        )
        """
    )
    op.execute("ALTER TABLE event_revisions ADD COLUMN note text")


def downgrade() -> None:
    op.execute("ALTER TABLE event_revisions DROP COLUMN note")
    op.execute("DROP TABLE feeds")
