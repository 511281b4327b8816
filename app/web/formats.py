"""Output formats and their negotiation: `f=` wins, then the Accept header, then GeoJSON."""

from enum import StrEnum
from typing import Annotated

from fastapi import Query, Request

from app.domain.errors import InvalidParameter


class Format(StrEnum):
    GEOJSON = "geojson"
    CSV = "csv"
    NDJSON = "ndjson"
    HTML = "html"


MEDIA_TYPES = {
    Format.GEOJSON: "application/geo+json",
    Format.CSV: "text/csv; charset=utf-8",
    Format.NDJSON: "application/x-ndjson",
    Format.HTML: "text/html; charset=utf-8",
}
_F_VALUES = {"json": Format.GEOJSON, "geojson": Format.GEOJSON, "csv": Format.CSV,
             "ndjson": Format.NDJSON, "html": Format.HTML}  # fmt: skip
_ACCEPT = {
    "application/geo+json": Format.GEOJSON,
    "application/json": Format.GEOJSON,
    "text/csv": Format.CSV,
    "application/x-ndjson": Format.NDJSON,
    "application/geo+json-seq": Format.NDJSON,
    "text/html": Format.HTML,
}


def _from_accept(accept: str) -> Format:
    """The client's most preferred media type we can produce (q-values honoured)."""
    ranked: list[tuple[float, int, Format]] = []
    for position, item in enumerate(accept.split(",")):
        media, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media.strip().lower() in _ACCEPT and quality > 0:
            ranked.append((-quality, position, _ACCEPT[media.strip().lower()]))
    return min(ranked)[2] if ranked else Format.GEOJSON


async def output_format(
    request: Request,
    f: Annotated[
        str | None,
        Query(
            description="Output format: `geojson` (or `json`), `csv`, `ndjson`, `html`. "
            "Without it the Accept header decides; the default is GeoJSON.",
            examples=["geojson"],
            json_schema_extra={"enum": list(_F_VALUES)},  # the document says what is accepted
        ),
    ] = None,
) -> Format:
    if f is not None:
        if f.lower() not in _F_VALUES:
            raise InvalidParameter("f", f"unknown format {f!r}; use one of: {', '.join(_F_VALUES)}")
        return _F_VALUES[f.lower()]
    return _from_accept(request.headers.get("accept", ""))
