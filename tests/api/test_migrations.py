"""Alembic: down to base and back up works, and the models match the migrations exactly."""

import asyncio
import random
import uuid
from datetime import UTC, datetime
from itertools import combinations_with_replacement
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.provenance import Cited, derive_verification
from app.domain.vocab import SourceKind, Stance, Verification
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


def _citation_mixes() -> list[list[Cited]]:
    """Every mix of up to two citations (any stance, one of three sources of any kind), and
    a fixed sample of mixes of three to five."""
    kinds = [k.value for k in SourceKind]
    one = [Cited(stance.value, source, kind) for stance in Stance for source in (1, 2, 3)
           for kind in kinds]  # fmt: skip
    mixes = [list(mix) for n in range(3) for mix in combinations_with_replacement(one, n)]
    chance = random.Random(20)
    mixes += [chance.sample(one, chance.randint(3, 5)) for _ in range(3000)]
    # One organisation has one kind: the rule sees a source's kind with each of its citations.
    return [[c._replace(kind=next(d.kind for d in mix if d.source == c.source)) for c in mix]
            for mix in mixes]  # fmt: skip


def _array(values: list[object], sql_type: str) -> str:
    items = ", ".join(repr(v) for v in values)
    return f"ARRAY[{items}]::{sql_type}[]" if values else f"'{{}}'::{sql_type}[]"


def test_sql_verification_rule_matches_the_python_one(cluster: devdb.Cluster) -> None:
    """derived_verification() (used by every write) and app.domain.provenance agree."""
    mixes = _citation_mixes()
    rows = ", ".join(
        f"({_array([c.stance for c in mix], 'text')}, {_array([c.source for c in mix], 'bigint')},"
        f" {_array([c.kind for c in mix], 'text')})"
        for mix in mixes
    )
    sql = f"SELECT json_agg(derived_verification(s, o, k)) FROM (VALUES {rows}) v(s, o, k)"
    got = _scalar(cluster.url(TEMPLATE_DB), sql)
    expected = [derive_verification(mix).value for mix in mixes]
    assert got == expected
    assert set(expected) == {v.value for v in Verification}  # every status is reached


# Migration 0011 moves existing revisions (snapshots only) into the validity layout: written
# here as revision 0010's code wrote them.
SNAPSHOT_0010 = """
    (to_jsonb(e) - 'during' - 'geom' - 'source_count' - 'feature')
    || jsonb_build_object('geometry', ST_AsGeoJSON(e.geom, 6)::jsonb, 'citations', COALESCE((
        SELECT jsonb_agg(jsonb_build_object('source', s.slug, 'stance', es.stance,
                 'url', es.url, 'published_at', es.published_at, 'excerpt', es.excerpt)
                 ORDER BY es.id)
        FROM event_sources es JOIN sources s ON s.id = es.source_id
        WHERE es.event_id = e.id), '[]'::jsonb))
"""
RECORD_0010 = (
    "INSERT INTO event_revisions (event_id, version, changed_by, operation, snapshot, changed_at)"
    f" SELECT e.id, e.version, 'test', :op, {SNAPSHOT_0010}, e.updated_at FROM events e"
)
HISTORY_0010 = [
    "INSERT INTO sources (slug, name, kind) VALUES ('isw', 'ISW', 'research')",
    "INSERT INTO events (title, event_type, occurred_at, geom, created_at, updated_at) VALUES "
    "('Shelling', 'shelling', '2025-03-10', ST_SetSRID(ST_MakePoint(35.27, 51.19), 4326), "
    "'2025-03-11T08:00:00Z', '2025-03-11T08:00:00Z')",
    RECORD_0010.replace(":op", "'create'"),
    "INSERT INTO event_sources (event_id, source_id, stance, published_at) "
    "SELECT e.id, s.id, 'reports', '2025-03-11T09:00:00Z' FROM events e, sources s",
    "UPDATE events SET fatalities = 3, version = 2, updated_at = '2025-03-12T10:00:00Z'",
    RECORD_0010.replace(":op", "'update'"),
]
CREATED = datetime(2025, 3, 11, 8, tzinfo=UTC)
EDITED = datetime(2025, 3, 12, 10, tzinfo=UTC)
LAYOUT = """
SELECT version, lower(valid), upper(valid), fatalities, source_count,
       feature = revision_feature_text(r) AS own_text
FROM event_revisions r ORDER BY version
"""


def _run(url: str, statements: list[str]) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                rows: list[Any] = []
                for statement in statements:
                    result = await conn.execute(text(statement))
                    rows = list(result.all()) if result.returns_rows else rows
                return rows
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_revisions_move_into_the_validity_layout_and_back(cluster: devdb.Cluster) -> None:
    name = f"m_{uuid.uuid4().hex[:8]}"
    devdb.create_database(cluster, name)
    url = cluster.url(name)
    snapshots = "SELECT version, snapshot::text FROM event_revisions ORDER BY version"
    try:
        migrate.upgrade(url, "0010")
        _run(url, HISTORY_0010)
        before = _run(url, [snapshots])
        for _ in range(2):  # upgrade, downgrade, upgrade again
            migrate.upgrade(url)
            assert _run(url, [LAYOUT]) == [
                (1, CREATED, EDITED, None, 0, True),
                (2, EDITED, None, 3, 1, True),
            ]
            # The current version's text, built from its snapshot, is the event's own.
            assert _run(url, ["SELECT count(*) FROM event_revisions r JOIN events e "
                              "ON e.id = r.event_id WHERE r.version = 2 "
                              "AND r.feature = e.feature"]) == [(1,)]  # fmt: skip
            migrate.downgrade(url, "0010")
            assert _run(url, [snapshots]) == before
    finally:
        devdb.drop_database(cluster, name)
