"""Streaming encoders: bytes out, built around what PostgreSQL wrote."""

import csv
import io
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

CHUNK_BYTES = 64 * 1024


def _chunked(parts: Iterable[str]) -> Iterator[bytes]:
    """Join many small strings into ~64 KiB writes."""
    buffer: list[str] = []
    size = 0
    for part in parts:
        buffer.append(part)
        size += len(part)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _with_commas(features: Iterable[str], first: bool = True) -> Iterator[str]:
    for feature in features:
        if not first:
            yield ","
        first = False
        yield feature


def _tail(count: int, links: list[dict[str, str]], number_matched: int | None) -> bytes:
    tail: dict[str, Any] = {
        "numberReturned": count,
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "links": links,
    }
    if number_matched is not None:
        tail["numberMatched"] = number_matched
    return b"]," + orjson.dumps(tail)[1:]


FC_HEAD = b'{"type":"FeatureCollection","features":['


def feature_collection(
    features: Sequence[str], links: list[dict[str, str]], number_matched: int | None = None
) -> Iterator[bytes]:
    """A FeatureCollection with the OGC paging members after the features."""
    yield FC_HEAD
    yield from _chunked(_with_commas(features))
    yield _tail(len(features), links, number_matched)


def joined_feature_collection(
    joined: bytes | memoryview,
    count: int,
    links: list[dict[str, str]],
    number_matched: int | None = None,
) -> list[bytes | memoryview]:
    """The same FeatureCollection around Features PostgreSQL already joined with commas."""
    return [FC_HEAD, joined, _tail(count, links, number_matched)]


async def streamed_feature_collection(
    batches: AsyncIterator[Sequence[Any]], links: list[dict[str, str]]
) -> AsyncIterator[bytes]:
    """An unbounded FeatureCollection (exports) from cursor batches of (feature, ...) rows."""
    yield FC_HEAD
    count = 0
    async for batch in batches:
        for chunk in _chunked(_with_commas((row[0] for row in batch), first=count == 0)):
            yield chunk
        count += len(batch)
    yield _tail(count, links, None)


def ndjson(features: Iterable[str]) -> Iterator[bytes]:
    """One GeoJSON Feature per line."""
    yield from _chunked(feature + "\n" for feature in features)


async def streamed_ndjson(batches: AsyncIterator[Sequence[Any]]) -> AsyncIterator[bytes]:
    async for batch in batches:
        for chunk in ndjson(row[0] for row in batch):
            yield chunk


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def csv_lines(header: Sequence[str] | None, rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """RFC 4180 CSV (CRLF line ends), header first when given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def streamed_csv(
    header: Sequence[str], batches: AsyncIterator[Sequence[Any]], width: int
) -> AsyncIterator[bytes]:
    """CSV of cursor batches; ``width`` drops the trailing sort-key columns."""
    first = True
    async for batch in batches:
        for chunk in csv_lines(header if first else None, (row[:width] for row in batch)):
            yield chunk
        first = False
    if first:
        for chunk in csv_lines(header, []):
            yield chunk
