"""POST /imports: a bulk import over HTTP (the same engine as `frontline import`)."""

import asyncio
import dataclasses
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from app.domain.errors import InvalidBody, InvalidParameter, Unprocessable
from app.ingest.dates import DateOrderError
from app.ingest.event_rows import ImportFileError
from app.ingest.events import import_events
from app.ingest.mappings import MappingError, load_mapping, shipped_mappings
from app.web.auth import Writer
from app.web.consistency import written
from app.web.params.common import dataset_query, forbid_unknown_params
from app.web.problems import PayloadTooLarge
from app.web.routers.deps import AppSettings, Primary

router = APIRouter(tags=["writes"], dependencies=[Depends(forbid_unknown_params)])


class ImportRejected(Unprocessable):
    code = "import-rejected"
    title = "Import rejected"


async def _save_body(request: Request, limit: int) -> Path:
    """Stream the upload to a temporary file, refusing it once it passes the limit."""
    handle = tempfile.NamedTemporaryFile(prefix="frontline-import-", delete=False)  # noqa: SIM115
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"The upload is larger than {limit} bytes.")
            await asyncio.to_thread(handle.write, chunk)
    except BaseException:
        handle.close()
        await asyncio.to_thread(Path(handle.name).unlink, missing_ok=True)
        raise
    handle.close()
    return Path(handle.name)


@router.post(
    "/imports",
    summary="Import events from ACLED-style CSV, UCDP GED-style CSV or GeoJSON",
    description=(
        "The body is the file itself (optionally gzip-compressed). "
        "Rows are keyed by `dataset` + their id: a re-import changes nothing, a changed row "
        "becomes a new version with a revision. All or nothing: one bad row and nothing is "
        "written, and the 422 report lists every bad row (line, column, reason); "
        "`partial=true` writes the good rows and reports the rest."
    ),
    responses={
        200: {"description": "The import report"},
        401: {"description": "No, invalid or revoked API key"},
        403: {"description": "The key lacks the write scope"},
        413: {"description": "Upload larger than the configured limit"},
        422: {"description": "Rejected rows; nothing was written"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/geo+json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def post_import(
    request: Request,
    engine: Primary,
    settings: AppSettings,
    who: Writer,
    dataset: Annotated[
        str, dataset_query("Dataset the rows belong to; ids are unique within it.", "acled-ukraine")
    ],
    format: Annotated[
        Literal["acled", "ucdp", "geojson"] | None,
        Query(
            description="The file's format; recognised from its content when omitted.",
            examples=["acled"],
        ),
    ] = None,
    partial: Annotated[
        bool, Query(description="Write the good rows even when some are bad.", examples=[True])
    ] = False,
    last_wins: Annotated[
        bool,
        Query(
            description="A repeated id keeps its last row (the others reported), not its first.",
            examples=[True],
        ),
    ] = False,
    mapping: Annotated[
        str | None,
        Query(
            description="Any CSV: the name of a shipped mapping (`mappings/`) saying which "
            "column holds what.",
            json_schema_extra={"enum": shipped_mappings()},
            examples=["air_raid_alerts_official"],
        ),
    ] = None,
) -> JSONResponse:
    if mapping is not None and mapping not in shipped_mappings():  # a name, never a path
        shipped = ", ".join(shipped_mappings())
        raise InvalidParameter("mapping", f"no mapping {mapping!r} (shipped: {shipped})")
    try:
        chosen = load_mapping(mapping) if mapping is not None else None
    except MappingError as exc:
        raise InvalidParameter("mapping", str(exc)) from None
    path = await _save_body(request, settings.max_import_bytes)
    try:
        report = await import_events(engine, path, dataset, who.name, partial=partial, fmt=format,
                                     mapping=chosen, last_wins=last_wins)  # fmt: skip
    except ImportFileError as exc:
        raise InvalidBody("body", str(exc)) from None
    except (MappingError, DateOrderError) as exc:
        raise InvalidBody("body", str(exc)) from None
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)
    body: dict[str, Any] = dataclasses.asdict(report)
    if not report.written:
        raise ImportRejected(
            f"{report.rejected_count} of {report.rows} rows are invalid; nothing was written.",
            errors=[{"line": r["line"], "column": r["column"], "message": r["reason"]}
                    for r in report.rejected],
            extra={"report": body},
        )  # fmt: skip
    return JSONResponse(body, headers=await written(engine))
