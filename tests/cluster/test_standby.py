"""The rig's streaming standby: copied from a primary with `pg_basebackup -R`, it replays the
primary's writes, refuses its own, and after `pg_ctl promote` takes writes itself."""

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store import devdb
from tests.conftest import free_port


@pytest.fixture
def pair() -> Iterator[tuple[devdb.Cluster, devdb.Cluster]]:
    base = Path(tempfile.mkdtemp(prefix="frontline-pair-"))
    try:
        primary = devdb.start(base / "primary", free_port(), ephemeral=True)
        standby = devdb.start_standby(primary, base / "standby", free_port())
        yield primary, standby
    finally:
        for side in ("standby", "primary"):
            devdb.stop(base / side)
        shutil.rmtree(base, ignore_errors=True)


def _eventually(cluster: devdb.Cluster, sql: str, expected: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            if devdb.run_sql(cluster, sql, "frontline").strip() == expected:
                return
        except devdb.DevDbError:  # not replayed yet
            pass
        assert time.monotonic() < deadline, f"{sql!r} never gave {expected!r}"
        time.sleep(0.1)


def test_a_standby_replays_then_takes_over(pair: tuple[devdb.Cluster, devdb.Cluster]) -> None:
    primary, standby = pair
    assert devdb.run_sql(standby, "SELECT pg_is_in_recovery()").strip() == "t"
    devdb.run_sql(primary, "CREATE TABLE notes (body text); INSERT INTO notes VALUES ('one')",
                  "frontline")  # fmt: skip
    _eventually(standby, "SELECT string_agg(body, ',') FROM notes", "one")
    with pytest.raises(devdb.DevDbError, match="read-only transaction"):
        devdb.run_sql(standby, "INSERT INTO notes VALUES ('two')", "frontline")
    devdb.stop(primary.base_dir)
    devdb.promote(standby.base_dir)
    _eventually(standby, "SELECT pg_is_in_recovery()", "f")
    devdb.run_sql(standby, "INSERT INTO notes VALUES ('two')", "frontline")
    assert devdb.run_sql(standby, "SELECT string_agg(body, ',' ORDER BY body) FROM notes",
                         "frontline").strip() == "one,two"  # fmt: skip
