"""/map: the built-in map page (MapLibre GL JS, served by the app itself, no CDN)."""

from functools import lru_cache
from html import escape
from pathlib import Path
from string import Template
from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from app.domain.errors import ServiceUnavailable
from app.settings import Settings
from app.web.params.common import forbid_unknown_params
from app.web.routers.deps import AppSettings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
VENDOR_FILES = ("maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css", "countries.geojson")

router = APIRouter(tags=["map"], dependencies=[Depends(forbid_unknown_params)])


class MapAssetsMissing(ServiceUnavailable):
    code = "map-assets-missing"
    title = "Map assets not installed"


@lru_cache
def _page_template() -> Template:
    return Template((STATIC_DIR / "map.html").read_text(encoding="utf-8"))


def basemap_origin(url: str | None) -> str:
    """The scheme://host[:port] of the basemap tiles, for the CSP; empty when unset."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else ""


def map_csp(settings: Settings) -> str:
    """Only this origin (plus the basemap's, when one is set): the library, its module
    worker, the tiles, the API and the stylesheets are all served from here."""
    extra = basemap_origin(settings.map_basemap_url)
    more = f" {extra}" if extra else ""
    return (
        "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{more}; connect-src 'self'{more}; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def render_map_page(settings: Settings) -> str:
    return _page_template().substitute(
        basemap=escape(settings.map_basemap_url or "", quote=True),
        attribution=escape(settings.map_basemap_attribution, quote=True),
    )


@router.get(
    "/map",
    summary="The map: events over the region boundaries, with time and filters",
    description=(
        "An HTML page (MapLibre GL JS) drawing `/tiles/events` over the region boundaries, "
        "with a date range and timeline from `/stats/timeline`, event type and verification "
        "filters, a gazetteer search and a popup with each event's sources. The view and "
        "filters live in the URL hash (`#map=zoom/lat/lon&datetime=…&event_type=…`); any "
        "other `/events` filter in the hash (`within`, `place`, `q`, …) is applied too."
    ),
    response_class=Response,
    responses={200: {"content": {"text/html": {}}}, 503: {"description": "Assets not built"}},
)
async def map_page(
    settings: AppSettings,
    fmt: Annotated[
        Literal["html"] | None, Query(alias="f", description="Only `html`.", examples=["html"])
    ] = None,
) -> Response:
    missing = [name for name in VENDOR_FILES if not (STATIC_DIR / "vendor" / name).is_file()]
    if missing:
        raise MapAssetsMissing(
            f"{', '.join(missing)} not found in app/web/static/vendor/: run scripts/ensure-web.sh "
            "(make run does) to install MapLibre GL JS from npm.",
            retry_after=None,  # waiting does not install them
        )
    return Response(
        render_map_page(settings),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": map_csp(settings),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache",
        },
    )
