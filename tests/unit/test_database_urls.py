"""DATABASE_URL spellings: libpq's several hosts (for failover with
`target_session_attrs=read-write`) reach asyncpg as the same hosts, ports and options that
asyncpg itself reads from the libpq form (the oracle: its own DSN parser)."""

import asyncpg.connect_utils
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import dialect
from sqlalchemy.engine import make_url

from app.store.engine import asyncpg_url
from app.store.replicas import database_name


def _through_sqlalchemy(url: str) -> tuple[list[tuple[str, int]], str, str, str | None]:
    args = dialect().create_connect_args(make_url(asyncpg_url(url)))[1]
    hosts, ports = args["host"], args.get("port")
    if isinstance(hosts, str):
        hosts, ports = [hosts], [ports]
    pairs = [(h, int(p or 5432)) for h, p in zip(hosts, ports or [None] * len(hosts), strict=True)]
    return pairs, args["user"], args["database"], args.get("target_session_attrs")


def _through_asyncpg(url: str) -> tuple[list[tuple[str, int]], str, str, str | None]:
    none = dict.fromkeys(["host", "port", "user", "password", "passfile", "database", "ssl",
                          "service", "servicefile", "direct_tls", "server_settings",
                          "target_session_attrs", "krbsrvname", "gsslib"])  # fmt: skip
    addresses, params = asyncpg.connect_utils._parse_connect_dsn_and_args(dsn=url, **none)
    attrs = params.target_session_attrs.value
    return (
        [(h, int(p)) for h, p in addresses],
        params.user,
        params.database,
        (None if attrs == "any" else attrs),
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://frontline:secret@db-1:5432,db-2:5433/frontline?target_session_attrs=read-write",
        "postgres://frontline:secret@db-1,db-2/frontline?target_session_attrs=read-write",
        "postgresql://frontline:secret@db-1:6432/frontline",
        "postgresql://frontline@10.0.0.1:5432,10.0.0.2:5432,10.0.0.3:5432/events",
    ],
)
def test_several_hosts_reach_asyncpg_as_asyncpg_reads_them(url: str) -> None:
    assert _through_sqlalchemy(url) == _through_asyncpg(url)


def test_logs_name_every_host_and_no_password() -> None:
    url = asyncpg_url("postgresql://frontline:secret@db-1:5432,db-2:5433/frontline")
    assert database_name(url) == "db-1:5432,db-2:5433/frontline"
    assert database_name(asyncpg_url("postgresql://u:secret@db:6432/x")) == "db:6432/x"
