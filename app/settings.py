"""Every knob in one place, read once from the environment (prefix ``FRONTLINE_``)."""

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


# Secrets with a built-in value, for a process on this machine only (environment names).
DEFAULT_SECRETS = {"FRONTLINE_KEY_PEPPER": "frontline"}


class Settings(BaseSettings):
    """Service settings; ``DATABASE_URL`` is read without the prefix, as platforms set it."""

    model_config = SettingsConfigDict(env_prefix="FRONTLINE_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias="DATABASE_URL",
        description="PostgreSQL+PostGIS URL; unset means the embedded cluster in data_dir.",
    )
    data_dir: Path = Field(default=REPO_ROOT / ".data", description="Embedded cluster home.")
    db_port: int = Field(default=54329, description="Localhost port of the embedded cluster.")
    host: str = "127.0.0.1"
    port: int = 8000
    pool_size: int = 10
    transaction_pooling: bool = Field(
        default=False,
        description="DATABASE_URL is a transaction-mode pooler (PgBouncer pool_mode=transaction):"
        " no named or cached prepared statements, session settings set per transaction.",
    )
    pool_max_overflow: int = 5
    read_database_urls: list[str] = Field(
        default=[],
        description="Streaming standbys that serve reads (JSON list of URLs); writes, imports "
        "and reads that must see a newer write go to DATABASE_URL.",
    )
    max_replica_lag_s: float = Field(
        default=5.0, gt=0, description="A replica further behind than this gets no reads (s)."
    )
    replica_check_s: float = Field(
        default=1.0, gt=0, description="How often each replica's state and lag are checked (s)."
    )
    statement_timeout_ms: int = 30_000
    default_limit: int = 100
    max_limit: int = 10_000
    stream_chunk_rows: int = 500
    cache_max_age: int = Field(default=30, description="Cache-Control max-age of reads (s).")
    cors_origins: list[str] = Field(default=["*"], description="Origins allowed to read (CORS).")
    gzip_min_bytes: int = Field(default=2048, description="Smallest response worth gzipping.")
    tile_max_features: int = Field(
        default=4096,
        ge=1,
        description="Most features in one vector tile; above it, events are counted per cell.",
    )
    grid_max_cells: int = Field(default=20_000, ge=1, description="Most cells /stats/grid makes.")
    map_basemap_url: str | None = Field(
        default=None,
        description="Raster tile URL template ({z}/{x}/{y}) drawn under /map; unset: none.",
    )
    map_basemap_attribution: str = Field(
        default="", description="Attribution shown on /map for the basemap."
    )
    require_read_key: bool = Field(
        default=False, description="Reads need an API key with the read scope (default: public)."
    )
    require_if_match: bool = Field(
        default=False,
        description="Changes to an event need If-Match (428 without it); by default a change "
        "without it is accepted, last writer wins, and history keeps the version it replaced.",
    )
    key_pepper: str = Field(
        default=DEFAULT_SECRETS["FRONTLINE_KEY_PEPPER"],
        description="Server-side secret mixed into API key hashes (HMAC); required, your own, "
        "for a server that listens beyond loopback.",
    )
    max_body_bytes: int = Field(default=1_048_576, description="Largest JSON write body.")
    writes_per_minute_per_key: int = Field(
        default=600, description="Write rate limit per API key (0: none)."
    )
    writes_per_minute_per_ip: int = Field(
        default=1200, description="Write attempts per client address, failed ones too (0: none)."
    )
    max_import_bytes: int = Field(default=512 * 1_048_576, description="Largest import upload.")
    acled_url: str = Field(default="https://acleddata.com", description="ACLED's API (sync).")
    acled_username: str | None = Field(default=None, description="ACLED account e-mail (sync).")
    acled_password: SecretStr | None = Field(
        default=None, description="ACLED account password (sync); never logged."
    )
    ucdp_url: str = Field(default="https://ucdpapi.pcr.uu.se", description="UCDP's API (sync).")
    ucdp_token: SecretStr | None = Field(
        default=None, description="UCDP API access token (sync); never logged."
    )
    feed_page_size: int = Field(
        default=5000, ge=1, le=5000, description="Rows per feed page (UCDP: at most 1000)."
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()


def default_secrets(settings: Settings) -> list[str]:
    """The environment names of the secrets still at their built-in values."""
    current = {"FRONTLINE_KEY_PEPPER": settings.key_pepper}
    return [name for name, value in DEFAULT_SECRETS.items() if current[name] == value]


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` keeps the server on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: it may resolve anywhere
        return False
