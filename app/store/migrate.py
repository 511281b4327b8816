"""Alembic, driven from code: `frontline migrate` and the readiness check use this."""

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers

from app.settings import REPO_ROOT


def alembic_config(database_url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    # ConfigParser treats % as interpolation; URLs may contain escaped characters.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


@lru_cache
def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    script = ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused"))
    return script.get_current_head()


_spatial_include_object: Callable[..., bool] = alembic_helpers.include_object

# Tables PostGIS owns; never diff or drop them.
POSTGIS_TABLES = frozenset({"spatial_ref_sys", "topology", "layer"})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Autogenerate filter: our tables only, with GeoAlchemy2's spatial-index handling."""
    if type_ == "table" and name in POSTGIS_TABLES:
        return False
    return _spatial_include_object(obj, name, type_, reflected, compare_to)
