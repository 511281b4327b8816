"""The matcher's probe for fine events by the window each may match in, time first.

Fine events (minute to day, exact to settlement) were found through the bbox + time index
(geom, during), probed a day either side of the base's window. On dense data (many events
at one front-line town) that index is organised by place first: a probe of a few hundred
events walked some two thousand index pages. Keyed by the match window first and the point
second, the probe asks for exactly the base's window and reads about a page per ten events
(bench/README.md "Duplicate candidates").

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FINE_EVENT = (
    "NOT (time_precision IN ('week', 'month', 'year') "
    "OR location_precision IN ('district', 'region', 'country'))"
)


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_fine_window ON events USING gist "
        f"(match_window(during, time_precision), geom) WHERE {FINE_EVENT}"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_events_fine_window")
