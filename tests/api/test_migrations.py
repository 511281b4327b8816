"""Alembic: down to base and back up works, and the models match the migrations exactly."""

import asyncio
import uuid
from itertools import combinations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.provenance import derive_verification
from app.domain.vocab import Stance
from app.store import devdb, migrate
from app.store.migrate import include_object
from app.store.models import Base
from tests.conftest import TEMPLATE_DB


def _scalar(url: str, sql: str) -> object:
    async def run() -> object:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text(sql))).scalar()
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_downgrade_to_base_then_upgrade_to_head(cluster: devdb.Cluster) -> None:
    name = f"m_{uuid.uuid4().hex[:8]}"
    devdb.create_database(cluster, name)
    url = cluster.url(name)
    try:
        migrate.upgrade(url)
        assert _scalar(url, "SELECT version_num FROM alembic_version") == migrate.head_revision()
        migrate.downgrade(url, "base")
        assert (
            _scalar(
                url,
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename = 'events'",
            )
            == 0
        )
        migrate.upgrade(url)
        assert _scalar(url, "SELECT count(*) FROM events") == 0
    finally:
        devdb.drop_database(cluster, name)


def test_models_and_migrations_agree(cluster: devdb.Cluster) -> None:
    url = cluster.url("frontline_template")

    async def diff() -> list[object]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(
                            sync, opts={"include_object": include_object, "compare_type": True}
                        ),
                        Base.metadata,
                    )
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def test_sql_verification_rule_matches_the_python_one(cluster: devdb.Cluster) -> None:
    """derived_verification() (used by bulk writes) and app.domain.provenance agree on every mix."""
    stances = [s.value for s in Stance]
    mixes = [list(c) for n in range(len(stances) + 1) for c in combinations(stances, n)]
    rows = ", ".join(f"(ARRAY[{', '.join(repr(s) for s in mix)}]::text[])" for mix in mixes)
    rows = rows.replace("(ARRAY[]::text[])", "('{}'::text[])")
    sql = f"SELECT json_agg(derived_verification(s)) FROM (VALUES {rows}) v(s)"
    got = _scalar(cluster.url(TEMPLATE_DB), sql)
    assert got == [derive_verification(mix).value for mix in mixes]
