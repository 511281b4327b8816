"""frontline backup / restore: a dump restored into an empty database is the same service."""

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text

from app import devdb
from app.db import make_engine
from app.seed import seed
from tests.conftest import settings_for

TABLES = ("places", "place_names", "sources", "events", "event_sources", "event_revisions",
          "api_keys", "alembic_version")  # fmt: skip


async def _run(url: str, work):  # type: ignore[no-untyped-def]
    engine = make_engine(url, settings_for(url))
    try:
        return await work(engine)
    finally:
        await engine.dispose()


async def _tables(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return {
            table: sorted(json.dumps(r, sort_keys=True, default=str) for r in (
                await conn.execute(text(f"SELECT to_jsonb(t) FROM {table} t"))).scalars())
            for table in TABLES
        }  # fmt: skip


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip


def test_backup_restores_every_table(
    cluster: devdb.Cluster, fresh_url: str, tmp_path: Path
) -> None:
    asyncio.run(_run(fresh_url, seed))
    original = asyncio.run(_run(fresh_url, _tables))
    dump = tmp_path / "frontline.dump"
    made = cli(fresh_url, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 10_000
    target = f"restore_{uuid.uuid4().hex[:8]}"
    devdb.run_sql(cluster, f'CREATE DATABASE "{target}"')
    try:
        restored = cli(cluster.url(target), "restore", str(dump))
        assert restored.returncode == 0, restored.stderr
        assert asyncio.run(_run(cluster.url(target), _tables)) == original
    finally:
        devdb.drop_database(cluster, target)


def test_restore_of_a_missing_file_says_so(fresh_url: str, tmp_path: Path) -> None:
    result = cli(fresh_url, "restore", str(tmp_path / "nope.dump"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"frontline restore: {tmp_path / 'nope.dump'}: no such file"
