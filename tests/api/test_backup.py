"""frontline backup / restore: a dump restored into an empty database is the same service."""

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from app.ingest.seed import seed
from app.store import devdb
from app.store.engine import make_engine
from tests.conftest import DATA_TABLES, dump_tables, settings_for

TABLES = (*DATA_TABLES, "api_keys", "alembic_version")


async def _run(url: str, work):  # type: ignore[no-untyped-def]
    engine = make_engine(url, settings_for(url))
    try:
        return await work(engine)
    finally:
        await engine.dispose()


def cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip


def test_backup_restores_every_table(
    cluster: devdb.Cluster, fresh_url: str, tmp_path: Path
) -> None:
    asyncio.run(_run(fresh_url, seed))
    original = dump_tables(fresh_url, TABLES)
    dump = tmp_path / "frontline.dump"
    made = cli(fresh_url, "backup", str(dump))
    assert made.returncode == 0, made.stderr
    assert dump.stat().st_size > 10_000
    target = f"restore_{uuid.uuid4().hex[:8]}"
    devdb.run_sql(cluster, f'CREATE DATABASE "{target}"')
    try:
        restored = cli(cluster.url(target), "restore", str(dump))
        assert restored.returncode == 0, restored.stderr
        assert dump_tables(cluster.url(target), TABLES) == original
    finally:
        devdb.drop_database(cluster, target)


def test_restore_of_a_missing_file_says_so(fresh_url: str, tmp_path: Path) -> None:
    result = cli(fresh_url, "restore", str(tmp_path / "nope.dump"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"frontline restore: {tmp_path / 'nope.dump'}: no such file"
