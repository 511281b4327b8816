"""events.change_xid: the transaction that last wrote each event, for a change feed that
never skips.

`updated_at` is stamped when a transaction starts writing, but the row becomes visible when
it commits: a long transaction can commit a change stamped before one a poller has already
read, and `updated_since` then never returns it. The transaction id orders changes by the
transaction, and `pg_snapshot_xmin(pg_current_snapshot())` says below which id every
transaction has finished, so a feed that stops there has nothing left to come below it.
Existing rows read 1 (a constant default adds the column without rewriting the table); new
rows and every update take the writing transaction's id.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE events ADD COLUMN change_xid xid8 NOT NULL DEFAULT '1'")
    op.execute("ALTER TABLE events ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_events_change_xid ON events (change_xid)")
    op.execute(
        """
        CREATE FUNCTION events_change_xid() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.change_xid := pg_current_xact_id();
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER events_change_xid BEFORE UPDATE ON events "
        "FOR EACH ROW EXECUTE FUNCTION events_change_xid()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER events_change_xid ON events")
    op.execute("DROP FUNCTION events_change_xid()")
    op.execute("ALTER TABLE events DROP COLUMN change_xid")
