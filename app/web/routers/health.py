"""/health and /ready: liveness of the process, readiness of the database."""

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import ServiceUnavailable
from app.store import repository
from app.store.engine import get_engine, pooler_hint
from app.store.migrate import head_revision
from app.web.metrics import exposition
from app.web.params.common import forbid_unknown_params

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"], dependencies=[Depends(forbid_unknown_params)])


@router.get("/health", summary="The process is up (touches no database)")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database answers and its schema is at the migration head",
    responses={503: {"description": "Database unreachable or not migrated"}},
)
async def ready(engine: Annotated[AsyncEngine, Depends(get_engine)]) -> dict[str, Any]:
    try:
        current = await repository.fetch_scalar(
            engine, text("SELECT version_num FROM alembic_version")
        )
    except Exception as exc:
        hint = pooler_hint(exc)
        if hint:
            log.error(hint)
        raise ServiceUnavailable(hint or "The database is unreachable or not migrated.") from exc
    head = head_revision()
    if current != head:
        raise ServiceUnavailable(f"The schema is at {current}, the code expects {head}.")
    return {"status": "ready", "migration": current}


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests by route and status, latency, the connection pool",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                     "description": "The Prometheus text format"}},
)  # fmt: skip
async def metrics(engine: Annotated[AsyncEngine, Depends(get_engine)]) -> Response:
    body, media_type = exposition(engine)
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
