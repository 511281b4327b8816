"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.engine import get_engine
from app.web.formats import Format, offered_formats
from app.web.params.common import AppSettings

Engine = Annotated[AsyncEngine, Depends(get_engine)]
_F = Format
# The formats each kind of answer is offered in; `f` is an enum of exactly these.
PageFormat = Annotated[Format, Depends(offered_formats(_F.GEOJSON, _F.CSV, _F.NDJSON, _F.HTML))]
ExportFormat = Annotated[Format, Depends(offered_formats(_F.GEOJSON, _F.CSV, _F.NDJSON))]
PlacesFormat = Annotated[Format, Depends(offered_formats(_F.GEOJSON, _F.NDJSON, _F.HTML))]
FeatureFormat = Annotated[Format, Depends(offered_formats(_F.GEOJSON, _F.HTML))]
# JSON documents (landing page, collections…: GEOJSON stands for JSON there) or HTML.
DocumentFormat = Annotated[
    Format, Depends(offered_formats(_F.GEOJSON, _F.HTML, names=("json", "html")))
]

__all__ = [
    "AppSettings",
    "DocumentFormat",
    "Engine",
    "ExportFormat",
    "FeatureFormat",
    "PageFormat",
    "PlacesFormat",
]
