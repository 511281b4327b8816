"""HTTP responses: format, headers (ETag, Link, Cache-Control) and streamed bodies."""

import zlib
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response, StreamingResponse
from starlette.datastructures import URL

from app.domain.pages import FeaturePage
from app.web import html, output
from app.web.formats import MEDIA_TYPES, Format
from app.web.links import GEOJSON, link_header, page_links

# OpenAPI: the bodies are text written by PostgreSQL, not pydantic models.
GEOJSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "GeoJSON (RFC 7946); also CSV, NDJSON or HTML with `f` or `Accept`",
        "content": {media: {} for media in MEDIA_TYPES.values()},
    },
    304: {"description": "Not modified (the `If-None-Match` ETag still holds)"},
}
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def etag_of(parts: Iterable[str]) -> str:
    """A weak validator over the data of a response (not its volatile timeStamp)."""
    return etag_of_bytes((), *parts)


def etag_of_bytes(chunks: Iterable[bytes | memoryview], *texts: str) -> str:
    """A weak validator over a response's bytes and the texts that also decide it.

    CRC-32 plus the length, not a cryptographic digest: a validator only has to change when
    the page does, and SHA-1 over a 450 KB page cost a small request a tenth of its CPU.
    """
    crc, length = 0, 0
    for chunk in chunks:
        crc, length = zlib.crc32(chunk, crc), length + len(chunk)
    for text in texts:
        data = b"\x1e" + text.encode()
        crc, length = zlib.crc32(data, crc), length + len(data)
    return f'W/"{crc:08x}-{length:x}"'


def _not_modified(request: Request, etag: str) -> bool:
    sent = request.headers.get("if-none-match", "")
    return any(tag.strip() in (etag, "*") for tag in sent.split(","))


def cached(request: Request, etag: str, max_age: int, build: "Any") -> Response:
    """304 when the client's copy is current; otherwise the built response with validators."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    response: Response = build()
    response.headers.update(headers)
    return response


def cached_body(request: Request, body: bytes, media_type: str, max_age: int) -> Response:
    """A finished body (a metadata document, a statistic) with its ETag, or a 304."""
    etag = etag_of_bytes([body], media_type)
    return cached(request, etag, max_age, lambda: Response(body, media_type=media_type))


def page_response(
    request: Request,
    page: FeaturePage,
    fmt: Format,
    *,
    title: str,
    max_age: int,
    csv_header: Sequence[str] | None = None,
    url: URL | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A page in any format, with self/next/prev links (body and Link header) and an ETag;
    the links are ``url``'s (default: the request's), ``headers`` are added."""
    links = page_links(url or request.url, page, MEDIA_TYPES[fmt].split(";")[0])
    headers = dict(headers or {})
    if header := link_header(links):
        headers["Link"] = header
    if fmt is Format.HTML:
        parts = [fmt.value, *page.features, str(page.next_cursor), str(page.number_matched)]

        def build() -> Response:
            return html_response(html.feature_collection_page(title, _as_dict(page, links)))

        return cached(request, etag_of(parts), max_age, build)
    chunks: list[bytes | memoryview]
    if fmt is Format.CSV:
        chunks = list(output.csv_lines(csv_header or [], page.rows))
    elif fmt is Format.NDJSON:
        chunks = list(output.ndjson(page.features))
    elif page.joined is not None:
        chunks = output.joined_feature_collection(
            page.joined, page.returned, links, page.number_matched
        )
    else:
        chunks = list(output.feature_collection(page.features, links, page.number_matched))
    # The ETag hashes the bytes being sent (encoding the features once), all but a
    # FeatureCollection's last chunk: its members hold a timeStamp, and the cursors and
    # numberMatched in them are hashed as text.
    stable = chunks[:-1] if fmt is Format.GEOJSON else chunks
    etag = etag_of_bytes(stable, fmt.value, str(page.next_cursor), str(page.number_matched))
    # A page is bounded (limit): one bytes body, not a generator that Starlette would
    # iterate through its thread pool chunk by chunk.
    body = b"".join(chunks)
    media = MEDIA_TYPES[fmt]
    return cached(request, etag, max_age, lambda: Response(body, media_type=media, headers=headers))


def _as_dict(page: FeaturePage, links: list[dict[str, str]]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [orjson.loads(feature) for feature in page.features],
        "numberReturned": page.number_returned,
        "links": links,
    }
    if page.number_matched is not None:
        doc["numberMatched"] = page.number_matched
    return doc


def feature_response(
    request: Request, feature: str, fmt: Format, *, title: str, etag: str, max_age: int
) -> Response:
    """One Feature as GeoJSON (or HTML), with a strong ETag (its version) when it has one."""

    def build() -> Response:
        if fmt is Format.HTML:
            return html_response(html.feature_page(title, orjson.loads(feature)))
        return Response(feature, media_type=GEOJSON)

    return cached(request, etag, max_age, build)


def export_response(body: AsyncIterator[bytes], fmt: Format, filename: str) -> StreamingResponse:
    """An unbounded download streamed from a server-side cursor."""
    disposition = f'attachment; filename="{filename}.{_EXTENSIONS[fmt]}"'
    return StreamingResponse(
        body, media_type=MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition}
    )


_EXTENSIONS = {Format.GEOJSON: "geojson", Format.CSV: "csv", Format.NDJSON: "ndjson",
               Format.HTML: "html"}  # fmt: skip


def html_response(text: str, status_code: int = 200) -> Response:
    return Response(
        text,
        status_code=status_code,
        media_type=MEDIA_TYPES[Format.HTML],
        headers={"Content-Security-Policy": HTML_CSP, **SECURITY_HEADERS},
    )


def json_or_html(
    request: Request,
    doc: dict[str, Any],
    fmt: Format,
    render: Any,
    media_type: str = "application/json",
) -> Response:
    """Metadata documents (landing page, collections…): JSON, or HTML for browsers."""
    if fmt is Format.HTML:
        return html_response(render(doc))
    return cached_body(request, orjson.dumps(doc), media_type, 60)
