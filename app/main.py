"""create_app(): the lifespan owns the engine; routers and error handlers are wired once."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.staticfiles import StaticFiles

from app import __doc__ as summary
from app import allocator
from app.domain.vocab import Scope
from app.settings import Settings, get_settings
from app.store.engine import make_engine, resolve_database_url
from app.store.replicas import ReadRouting
from app.web.auth import require
from app.web.consistency import HEADER as CONSISTENCY
from app.web.contract import openapi_document
from app.web.limits import BodySizeLimit
from app.web.metrics import RequestMetrics
from app.web.problems import install_error_handlers
from app.web.routers import (
    events,
    feeds,
    health,
    imports,
    matches,
    merges,
    ogc,
    places,
    webmap,
    writes,
)
from app.web.routers import stats as stats_api
from app.web.routers import tiles as tiles_api
from app.web.views import CHANGES_BEFORE

DESCRIPTION = """
Dated conflict events tied to named places, with every source, its stance and a verification
status. Query by bounding box and time; results are GeoJSON (RFC 7946, lon/lat).

Errors are `application/problem+json` documents (RFC 9457) that name the offending parameter.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    allocator.keep_large_buffers()  # each worker process runs this once
    app.state.engine = make_engine(resolve_database_url(settings), settings)
    app.state.reads = reads = ReadRouting(app.state.engine, settings)
    watcher = asyncio.create_task(reads.watch(settings.replica_check_s)) if reads.replicas else None
    try:
        yield
    finally:
        if watcher is not None:
            watcher.cancel()
        await reads.dispose()
        await app.state.engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The ASGI app; ``settings`` defaults to the environment's."""
    settings = settings or get_settings()
    app = FastAPI(
        title="Frontline",
        version="0.1.0",
        summary=summary,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    # Gzip only when the client accepts it; small bodies are not worth the CPU on loopback.
    app.add_middleware(GZipMiddleware, minimum_size=settings.gzip_min_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["*"],
        expose_headers=["ETag", "Link", "Location", CONSISTENCY, CHANGES_BEFORE],
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       exempt=("/imports",))  # fmt: skip
    app.add_middleware(RequestMetrics)  # outermost: it times everything, errors included
    # Data reads need a read key only when FRONTLINE_REQUIRE_READ_KEY is set (see app.web.auth);
    # writes check their own scope; health, docs and the map page stay open.
    read_guard = [Depends(require(Scope.READ))]
    guarded = (ogc, events, places, tiles_api, stats_api, feeds, matches)
    open_to_all = (health, writes, merges, imports, webmap)
    for module in guarded:
        app.include_router(module.router, dependencies=read_guard)
    for module in open_to_all:
        app.include_router(module.router)
    # Every route, for the Allow header of OPTIONS and 405 answers (app.web.methods).
    app.state.routes = [r for module in (*guarded, *open_to_all) for r in module.router.routes]
    app.mount("/static", StaticFiles(directory=webmap.STATIC_DIR), name="static")
    app.openapi = lambda: openapi_document(app, settings)  # type: ignore[method-assign]
    return app
