"""event_span_bound: the longest span any event has had, so time filters can bound occurred_at.

An event matches an interval starting at t when it starts before the interval ends and ends
after t. The second half cannot use the (occurred_at, id) index that pages are read in, so a
query for the second half of 2025 used to walk that index from 2022. Every event that is
still going on at t started at or after t minus the longest span, and that bound can.

- ``event_span_bound`` holds one row: the longest ``upper(during) - lower(during)`` of any
  event, live or deleted, and of any revision (``as_of`` reads those). Statement-level
  triggers raise it in the writing transaction; nothing lowers it (a bound that is too long
  is only slower, never wrong).
- ``earliest_start_covering(t)`` is that bound for t. It is STABLE, so the planner evaluates
  it while planning and sees a real range on occurred_at instead of a guess.
- Event times must be finite: an infinite span has no length.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = {
    "insert": "AFTER INSERT ON events REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON events REFERENCING NEW TABLE AS new_rows",
}


def upgrade() -> None:
    op.execute(
        "ALTER TABLE events ADD CONSTRAINT ck_events_time_finite CHECK "
        "(isfinite(occurred_at) AND (occurred_until IS NULL OR isfinite(occurred_until)))"
    )
    op.execute(
        """
        CREATE TABLE event_span_bound (
            id boolean DEFAULT true NOT NULL,
            longest interval NOT NULL,
            CONSTRAINT pk_event_span_bound PRIMARY KEY (id),
            CONSTRAINT ck_event_span_bound_one_row CHECK (id)
        )
        """
    )
    op.execute(
        """
        INSERT INTO event_span_bound (longest)
        SELECT greatest(
            interval '0',
            (SELECT max(upper(during) - lower(during)) FROM events),
            (SELECT max((snapshot->>'occurred_until')::timestamptz
                        - (snapshot->>'occurred_at')::timestamptz)
             FROM event_revisions)
        )
        """
    )
    op.execute(
        """
        CREATE FUNCTION earliest_start_covering(t timestamptz) RETURNS timestamptz
        LANGUAGE sql STABLE PARALLEL SAFE AS $$
            -- -infinity when t minus the longest span is before the first representable year
            SELECT CASE WHEN NOT isfinite(t) THEN t
                        WHEN longest >= t - timestamptz '0001-01-01 00:00+00'
                        THEN timestamptz '-infinity' ELSE t - longest END
            FROM event_span_bound
        $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION event_span_bound_raise() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            -- Locks the row only when the bound grows, so ordinary writes never wait on it.
            UPDATE event_span_bound b SET longest = s.longest
            FROM (SELECT max(upper(during) - lower(during)) AS longest FROM new_rows) s
            WHERE s.longest > b.longest;
            RETURN NULL;
        END
        $$
        """
    )
    for name, when in TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER events_span_bound_{name} {when} "
            "FOR EACH STATEMENT EXECUTE FUNCTION event_span_bound_raise()"
        )


def downgrade() -> None:
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER events_span_bound_{name} ON events")
    op.execute("DROP FUNCTION event_span_bound_raise()")
    op.execute("DROP FUNCTION earliest_start_covering(timestamptz)")
    op.execute("DROP TABLE event_span_bound")
    op.execute("ALTER TABLE events DROP CONSTRAINT ck_events_time_finite")
