"""derived_verification(stances): the verification rule of app.domain.provenance, in SQL.

Set-based writes (bulk imports) derive verification for many events in one statement; a test
checks this function against the Python rule for every combination of stances.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION derived_verification(stances text[]) RETURNS text
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
            SELECT CASE
                WHEN stances && ARRAY['denies', 'disputes'] THEN
                    CASE WHEN stances && ARRAY['reports', 'claims', 'confirms']
                         THEN 'disputed' ELSE 'refuted' END
                WHEN 'confirms' = ANY(stances) THEN 'confirmed'
                WHEN 'claims' = ANY(stances) THEN 'claimed'
                ELSE 'unverified'
            END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION derived_verification(text[])")
