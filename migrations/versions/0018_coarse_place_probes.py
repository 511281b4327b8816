"""The matcher's probes for districts, regions and countries: by place, and by precision.

0016 found every event of a coarse place in one country-wide box (1 000 km), since a
region's boundary can reach far from its point; nine in ten of the rows it read then failed
the gate. A candidate whose place's boundary holds the base is now found by that place
(`ix_events_area_place_window`: its place and the window it may match in; btree_gist is
installed since 0001), and the others by point within their own precision's radius, each
precision in its own index (40 km for a district, 250 km for a region, 1 000 km for a
country), which replace the one 0016 built for all three.

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COARSE_PLACE = "location_precision IN ('district', 'region', 'country')"
PRECISIONS = ("district", "region", "country")


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_area_place_window ON events USING gist "
        f"(place_id, match_window(during, time_precision)) WHERE {COARSE_PLACE}"
    )
    for precision in PRECISIONS:
        op.execute(
            f"CREATE INDEX ix_events_{precision}_window ON events USING gist "
            f"(geom, match_window(during, time_precision)) "
            f"WHERE location_precision = '{precision}'"
        )
    op.execute("DROP INDEX ix_events_coarse_place")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_events_coarse_place ON events USING gist "
        f"(geom, match_window(during, time_precision)) WHERE {COARSE_PLACE}"
    )
    for precision in PRECISIONS:
        op.execute(f"DROP INDEX ix_events_{precision}_window")
    op.execute("DROP INDEX ix_events_area_place_window")
