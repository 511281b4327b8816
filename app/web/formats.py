"""Output formats and their negotiation: `f=` wins, then the Accept header, then the route's
first format (GeoJSON for features)."""

from collections.abc import Awaitable, Callable
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
# `json` names GeoJSON where a route serves features, and JSON where it serves documents.
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


def _from_accept(accept: str, offered: tuple[Format, ...]) -> Format:
    """The client's most preferred of the ``offered`` media types (q-values honoured), else the
    first offered: Accept states a preference, and a route answers in what it has."""
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
        fmt = _ACCEPT.get(media.strip().lower())
        if fmt in offered and quality > 0:
            ranked.append((-quality, position, fmt))
    return min(ranked)[2] if ranked else offered[0]


def offered_formats(
    *offered: Format, names: tuple[str, ...] | None = None
) -> Callable[..., Awaitable[Format]]:
    """A dependency reading `f` (one of the ``names`` of an ``offered`` format, by default all
    of them, exactly as the document lists them) or, without it, the Accept header."""
    names = names or tuple(name for name, fmt in _F_VALUES.items() if fmt in offered)
    description = (
        f"Output format: {', '.join(f'`{name}`' for name in names)}. Without it the Accept "
        f"header decides; the default is `{names[0]}`."
    )

    async def output_format(
        request: Request,
        f: Annotated[
            str | None,
            Query(
                description=description,
                examples=[names[0]],
                json_schema_extra={"enum": list(names)},
            ),
        ] = None,
    ) -> Format:
        if f is None:
            return _from_accept(request.headers.get("accept", ""), offered)
        if f not in names:
            raise InvalidParameter("f", f"unknown format {f!r}; use one of: {', '.join(names)}")
        return _F_VALUES[f]

    return output_format
