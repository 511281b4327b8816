"""/feeds: each live feed's last run, high-water marks, counts and last error, for operators."""

from typing import Any

from fastapi import APIRouter, Depends

from app.ingest.feeds import state
from app.web.params.common import forbid_unknown_params
from app.web.routers.deps import Engine

router = APIRouter(tags=["operations"], dependencies=[Depends(forbid_unknown_params)])


@router.get(
    "/feeds",
    summary="Live feeds (ACLED): last run, high-water marks, counts, last error",
    description="`mark` and `deleted_mark` are the upstream times (Unix seconds) merged up to; "
    "`interrupted` means the last run stopped before its end (the next one resumes it); "
    "`counts` add up every run's pages, rows and what they did.",
)
async def list_feeds(engine: Engine) -> dict[str, Any]:
    return {"feeds": await state.all_feeds(engine)}
