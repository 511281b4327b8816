"""Database engine: made in the app's lifespan, never at import time."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings
from app.store import devdb
from app.store.repository import TRANSACTION_POOLING


def asyncpg_url(url: str) -> str:
    """Accept the usual postgres:// spellings and point them at the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + _hosts_as_parameters(url[len(prefix) :])
    return url


def _with_port(host: str) -> str:
    """libpq's default port where a host has none (SQLAlchemy needs every host's)."""
    bracketed = host.startswith("[")
    has_port = "]:" in host if bracketed else ":" in host
    return host if has_port else f"{host}:5432"


def _hosts_as_parameters(rest: str) -> str:
    """libpq's several hosts (`user@a:5432,b:5432/db`) in the form SQLAlchemy reads for
    asyncpg (`user@/db?host=a:5432&host=b:5432`); any other URL unchanged."""
    location, _, path = rest.partition("/")
    userinfo, at, hosts = location.rpartition("@")
    if "," not in hosts:
        return rest
    database, question, query = path.partition("?")
    listed = "&".join(f"host={_with_port(host)}" for host in hosts.split(",") if host)
    return f"{userinfo}{at}/{database}?{listed}{'&' + query if question and query else ''}"


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise the embedded cluster, started if it is not running."""
    if settings.database_url:
        return asyncpg_url(settings.database_url)
    return devdb.start(settings.data_dir, settings.db_port).url()


STRICT_SIMILARITY = "0.5"


def session_settings(settings: Settings) -> dict[str, str]:
    """What every Frontline connection sets on the server, beyond the time zone."""
    return {
        "statement_timeout": str(settings.statement_timeout_ms),
        # Prepared statements would switch to a generic plan after five runs; for bbox +
        # time pages that plan builds JSON for every match (measured: 310 ms -> 1.3 s).
        "plan_cache_mode": "force_custom_plan",
        # Requests are short: compiling a tile's expressions took 40 of its 248 ms.
        "jit": "off",
        # The gazetteer's first, strict pass (app.services.gazetteer.search_places); a custom
        # option, so it is accepted before pg_trgm is loaded.
        "pg_trgm.similarity_threshold": STRICT_SIMILARITY,
    }


# Startup parameters PgBouncer forwards (it refuses a connection that sends any other).
POOLER_STARTUP = {"timezone": "UTC", "application_name": "frontline"}


def connect_args(settings: Settings) -> dict[str, Any]:
    if settings.transaction_pooling:
        # Each transaction may run on another server connection, so nothing is left on one:
        # statements are unnamed and uncached (asyncpg's and SQLAlchemy's caches off) and the
        # session settings are applied per transaction (_set_per_transaction).
        return {
            "server_settings": POOLER_STARTUP,
            "timeout": 5,
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: "",
        }
    return {"server_settings": {**POOLER_STARTUP, **session_settings(settings)}, "timeout": 5}


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    """A pooled engine. No pre-ping (a round trip before every request): after a database
    restart the first use of a dead connection invalidates the pool, reads are retried once on
    a new connection (app.store.repository) and a write answers 503 once."""
    engine = create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=5,
        connect_args=connect_args(settings),
    )
    if not settings.transaction_pooling:
        return engine
    _set_per_transaction(engine, session_settings(settings))
    return engine.execution_options(**{TRANSACTION_POOLING: True})


def _set_per_transaction(engine: AsyncEngine, values: dict[str, str]) -> None:
    """Behind a transaction-mode pooler, the session settings open every transaction (one
    statement), which therefore runs on one server connection from start to end."""
    assignments = ", ".join(f"set_config('{name}', '{value}', true)"
                            for name, value in values.items())  # fmt: skip
    statement = f"SELECT {assignments}"

    @event.listens_for(engine.sync_engine, "begin")
    def apply(conn: Connection) -> None:
        conn.exec_driver_sql(statement)


def pooler_hint(error: BaseException) -> str | None:
    """What to set when a pooler refused the session settings sent at connection time."""
    if "unsupported startup parameter" in str(error):
        return (f"The database refused a connection ({error}): DATABASE_URL looks like a "
                "PgBouncer; set FRONTLINE_TRANSACTION_POOLING=true.")  # fmt: skip
    return None
