"""Database engine: made in the app's lifespan, never at import time."""

from typing import Any

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings
from app.store import devdb


def asyncpg_url(url: str) -> str:
    """Accept the usual postgres:// spellings and point them at the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise the embedded cluster, started if it is not running."""
    if settings.database_url:
        return asyncpg_url(settings.database_url)
    return devdb.start(settings.data_dir, settings.db_port).url()


STRICT_SIMILARITY = "0.5"


def connect_args(settings: Settings) -> dict[str, Any]:
    return {
        "server_settings": {
            "timezone": "UTC",
            "application_name": "frontline",
            "statement_timeout": str(settings.statement_timeout_ms),
            # Prepared statements would switch to a generic plan after five runs; for bbox +
            # time pages that plan builds JSON for every match (measured: 310 ms -> 1.3 s).
            "plan_cache_mode": "force_custom_plan",
            # Requests are short: compiling a tile's expressions took 40 of its 248 ms.
            "jit": "off",
            # The gazetteer's first, strict pass (app.services.gazetteer.search_places); a custom
            # option, so it is accepted before pg_trgm is loaded.
            "pg_trgm.similarity_threshold": STRICT_SIMILARITY,
        },
        "timeout": 5,
    }


def make_engine(url: str, settings: Settings) -> AsyncEngine:
    """A pooled engine. No pre-ping (a round trip before every request): after a database
    restart the first use of a dead connection invalidates the pool, reads are retried once on
    a new connection (app.store.repository) and a write answers 503 once."""
    return create_async_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_timeout=5,
        connect_args=connect_args(settings),
    )


async def get_engine(request: Request) -> AsyncEngine:
    """Dependency: the engine the lifespan created."""
    engine: AsyncEngine = request.app.state.engine
    return engine
