"""`frontline load open-data` (`make demo`): the real public event files the project ships
(`seeds/open-data/`, see its README for sources and licences), imported through the ordinary
import path with their shipped mappings, after the full gazetteer they need.

Each file is its own import: a re-run changes nothing, and rows no place can hold (a stray
raion name among the oblasts) are reported, not fatal.
"""

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.event_staging import ImportReport
from app.ingest.events import import_events
from app.ingest.gazetteer import load_gazetteer
from app.ingest.mappings import load_mapping
from app.settings import REPO_ROOT

OPEN_DATA_DIR = REPO_ROOT / "seeds" / "open-data"
# (file, dataset, mapping)
FILES = (
    ("ucdp_ged_ukraine_2014_2022.csv.gz", "ucdp-ged", "ucdp_ged"),
    ("air_raid_alerts_official_2022_2024.csv.gz", "air-raid-alerts-official",
     "air_raid_alerts_official"),
    ("air_raid_alerts_volunteer_2022_2024.csv.gz", "air-raid-alerts-volunteer",
     "air_raid_alerts_volunteer"),
)  # fmt: skip
WHO = "open-data"


async def load_open_data(
    engine: AsyncEngine,
    directory: Path = OPEN_DATA_DIR,
    files: tuple[tuple[str, str, str], ...] = FILES,
    progress: Callable[[int], None] | None = None,
) -> list[ImportReport]:
    """The gazetteer (idempotent), then each file; one report per file."""
    await load_gazetteer(engine)
    reports = []
    for name, dataset, mapping in files:
        chosen = load_mapping(mapping)
        report = await import_events(engine, directory / name, dataset, WHO, partial=True,
                                     mapping=chosen, progress=progress)  # fmt: skip
        reports.append(report)
    return reports
