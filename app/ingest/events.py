"""Bulk event imports: ACLED-style CSV, UCDP GED-style CSV and GeoJSON, all or nothing.

One pass over the file, in one transaction: each row is mapped to an event and validated
(a bad row is reported with its line, column and reason), good rows are COPYed into a
staging table in chunks (flat memory), places are resolved by name near the row's point or
created, and at the end everything is merged with set-based SQL keyed by
`(dataset, external_id)`: new rows are inserted, changed rows updated (a new version and a
revision), identical rows left alone. Unless `partial` is asked for, one bad row rolls the
whole transaction back, so the database is exactly as before.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.ingest.dates import order_of
from app.ingest.event_rows import (
    FORMAT_COLUMNS,
    MAPPERS,
    ImportFileError,
    Mapper,
    RowError,
    UnknownFormat,
    check_format_columns,
    header,
    parse_row,
    raw_rows,
    sniff,
)
from app.ingest.event_staging import CHUNK_ROWS, STAGE_TABLES, Importer, ImportReport
from app.ingest.inspect import detected_mapping
from app.ingest.mappings import Mapping, build_mapper, check_header, date_order
from app.store.repository import execute_script


class _Rollback(Exception):
    """Leave the transaction without writing (the report says why)."""


RETRIES = 3
# unique_violation (a place created meanwhile), serialization_failure, deadlock_detected
RETRYABLE = {"23505", "40001", "40P01"}


def _worth_retrying(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRYABLE or isinstance(exc, IntegrityError)


async def merge_rows(
    conn: AsyncConnection,
    rows: Iterable[tuple[int, Any]],
    report: ImportReport,
    who: str,
    partial: bool = False,
    progress: Callable[[int], None] | None = None,
    mapper: Mapper | None = None,
    last_wins: bool = False,
) -> bool:
    """Map, check, stage and merge raw rows inside the caller's transaction (a file's, or one
    page of a feed). False when rows were rejected and nothing may be written: the caller
    rolls back."""
    mapper = mapper or MAPPERS[report.format]
    await execute_script(conn, STAGE_TABLES)
    importer = Importer(conn, report)
    for line, raw in rows:
        report.rows += 1
        try:
            await importer.add(line, parse_row(mapper, raw))
        except RowError as exc:
            report.reject(line, exc.column, exc.reason)
        if progress and report.rows % CHUNK_ROWS == 0:
            progress(report.rows)
    await importer.flush()
    await importer.duplicates(partial, last_wins)
    if report.rejected_count and not partial:
        return False
    await importer.merge(report.dataset, who)
    changed = report.rejected_count + report.inserted + report.updated
    report.unchanged = report.rows - changed
    report.written = True
    return True


async def _import_once(
    engine: AsyncEngine,
    rows: Callable[[], Iterable[tuple[int, Any]]],
    report: ImportReport,
    who: str,
    partial: bool,
    progress: Callable[[int], None] | None,
    mapper: Mapper | None,
    last_wins: bool,
) -> None:
    try:
        async with engine.begin() as conn:
            if not await merge_rows(conn, rows(), report, who, partial, progress, mapper,
                                    last_wins):  # fmt: skip
                raise _Rollback
    except _Rollback:
        pass


async def import_events(
    engine: AsyncEngine,
    path: Path,
    dataset: str,
    who: str,
    *,
    partial: bool = False,
    fmt: str | None = None,
    progress: Callable[[int], None] | None = None,
    mapping: Mapping | None = None,
    date_format: str | None = None,
    encoding: str | None = None,
    last_wins: bool = False,
) -> ImportReport:
    """Import one file (in a known format, or any CSV through a mapping); see the module
    docstring for the rules. MappingError when the file lacks a column the mapping reads;
    DateOrderError when its day/month dates have no order the mapping, ``date_format`` or the
    values settle.

    A concurrent import that creates the same new place first, or a lock conflict, makes the
    transaction fail as a whole; it is then run again (the other import's work is visible
    by then), a few times at most.
    """
    fmt, mapper, mapping, encoding = _reader(path, fmt, mapping, date_format, encoding)
    delimiter = mapping.delimiter if mapping is not None else None
    csv_format = "csv" if mapping is not None else fmt

    def rows() -> Iterable[tuple[int, Any]]:
        return raw_rows(path, csv_format, delimiter, encoding)

    for attempt in range(1, RETRIES + 1):
        report = ImportReport(fmt, dataset)
        try:
            await _import_once(engine, rows, report, who, partial, progress, mapper, last_wins)
        except DBAPIError as exc:
            if attempt == RETRIES or not _worth_retrying(exc):
                raise
            continue
        break
    report.rejected.sort(key=lambda r: r["line"])
    return report


def _reader(
    path: Path,
    fmt: str | None,
    mapping: Mapping | None,
    date_format: str | None,
    encoding: str | None,
) -> tuple[str, Mapper | None, Mapping | None, str]:
    """How to read the file: its format's name, the row mapper (a mapping's), the mapping and
    the text encoding. A CSV of no known format and no mapping gets the one `--inspect`
    would write, when its columns are named plainly enough."""
    if mapping is None and fmt is None:
        try:
            fmt = sniff(path)
        except ImportFileError as exc:
            # Not UTF-8 (sniffing reads it so) stays an error unless another encoding is given.
            if not isinstance(exc, UnknownFormat) and not encoding:
                raise
            mapping = detected_mapping(path, encoding or "utf-8")
    if mapping is not None and mapping.format is not None:
        fmt, mapping = mapping.format, None  # a built-in format, named by a mapping
    if mapping is None:
        fmt = fmt or sniff(path)
        if fmt in FORMAT_COLUMNS:
            check_format_columns(fmt, header(path, encoding=encoding or "utf-8"))
        return fmt, None, None, encoding or "utf-8"
    encoding = encoding or mapping.encoding
    check_header(mapping, header(path, mapping.delimiter, encoding))
    order = mapping.date_order or order_of(date_format)
    if order is None:  # the file's own values, or a DateOrderError naming two of them
        order = date_order(mapping, raw_rows(path, "csv", mapping.delimiter, encoding))
    return f"mapping {mapping.name}", build_mapper(mapping, order), mapping, encoding
