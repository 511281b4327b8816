"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from app.web.consistency import primary_engine, read_engine
from app.web.formats import Format, offered_formats
from app.web.params.common import AppSettings

Engine = Annotated[AsyncEngine, Depends(read_engine)]  # a replica when one can serve the read
Primary = Annotated[AsyncEngine, Depends(primary_engine)]  # writes and imports
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
    "Primary",
]
