"""Dependencies shared by the routers."""

from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store.engine import get_engine
from app.web.formats import Format, output_format
from app.web.params.common import AppSettings

Engine = Annotated[AsyncEngine, Depends(get_engine)]
OutputFormat = Annotated[Format, Depends(output_format)]

__all__ = ["AppSettings", "Engine", "OutputFormat"]
