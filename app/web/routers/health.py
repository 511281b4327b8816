"""/health and /ready: liveness of the process, readiness of the database."""

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import text

from app.domain.errors import ServiceUnavailable
from app.store import repository
from app.store.engine import pooler_hint
from app.store.migrate import head_revision
from app.web.metrics import exposition
from app.web.params.common import forbid_unknown_params
from app.web.routers.deps import Primary

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"], dependencies=[Depends(forbid_unknown_params)])


@router.get("/health", summary="The process is up (touches no database)")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="The database answers and its schema is at the migration head",
    description="`databases` lists the primary and each read replica with its state "
    "(`healthy`, `lagging`, `disconnected`, `down`, `not-a-standby`, or `unknown` before its "
    "first check), its lag in seconds and the log position it has replayed.",
    responses={503: {"description": "Database unreachable or not migrated"}},
)
async def ready(request: Request, engine: Primary) -> dict[str, Any]:
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
    # Replicas only add capacity: one that is down or behind is skipped, not a reason to stop.
    return {"status": "ready", "migration": current,
            "databases": request.app.state.reads.report()}  # fmt: skip


@router.get(
    "/metrics",
    summary="Prometheus metrics: requests by route and status, latency, the pool, replica lag",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                     "description": "The Prometheus text format"}},
)  # fmt: skip
async def metrics(request: Request, engine: Primary) -> Response:
    body, media_type = exposition(engine, request.app.state.reads)
    return Response(body, media_type=media_type, headers={"Cache-Control": "no-store"})
