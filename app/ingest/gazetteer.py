"""The full gazetteer the seeds ship: every Ukrainian and Russian region, and the settlements
of Ukraine and of the Russian border oblasts (`seeds/gazetteer/`, see its README for sources
and licences).

Regions come from geoBoundaries ADM1; those the founding seeds already hold (matched by ISO
3166-2 code) keep their hand-checked record. Ukrainian regions also get their Ukrainian names
and the adjectival forms that Ukrainian tables use ("Sumska oblast"), so imports that name an
oblast resolve to it. Settlements come from GeoNames `cities500` through the place import
(parents by containment; a place already known by its GeoNames id is left as it is).
Loading twice changes nothing.
"""

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.places import ImportCounts, import_places, slugify
from app.ingest.seed import upsert_place
from app.settings import REPO_ROOT

GAZETTEER_DIR = REPO_ROOT / "seeds" / "gazetteer"
BOUNDARIES = {"ukraine": "ukraine_adm1_geoboundaries_simplified.geojson.gz",
              "russia": "russia_adm1_geoboundaries_simplified.geojson.gz"}  # fmt: skip
SETTLEMENTS = "geonames_cities500_ua_ru_border.tsv.gz"
COUNTRY_CODES = {"ukraine": "UA", "russia": "RU"}

# Ukrainian regions: the name used here, its Ukrainian name and the adjectival form.
UKRAINIAN = {
    "UA-05": ("Vinnytsia Oblast", "Вінницька область", "Vinnytska oblast"),
    "UA-07": ("Volyn Oblast", "Волинська область", "Volynska oblast"),
    "UA-12": ("Dnipropetrovsk Oblast", "Дніпропетровська область", "Dnipropetrovska oblast"),
    "UA-18": ("Zhytomyr Oblast", "Житомирська область", "Zhytomyrska oblast"),
    "UA-21": ("Zakarpattia Oblast", "Закарпатська область", "Zakarpatska oblast"),
    "UA-26": ("Ivano-Frankivsk Oblast", "Івано-Франківська область", "Ivano-Frankivska oblast"),
    "UA-30": ("Kyiv City", "місто Київ", "Kyiv City"),
    "UA-32": ("Kyiv Oblast", "Київська область", "Kyivska oblast"),
    "UA-35": ("Kirovohrad Oblast", "Кіровоградська область", "Kirovohradska oblast"),
    "UA-40": ("Sevastopol City", "місто Севастополь", "Sevastopol City"),
    "UA-43": ("Autonomous Republic of Crimea", "Автономна Республіка Крим",
              "Avtonomna Respublika Krym"),
    "UA-46": ("Lviv Oblast", "Львівська область", "Lvivska oblast"),
    "UA-48": ("Mykolaiv Oblast", "Миколаївська область", "Mykolaivska oblast"),
    "UA-51": ("Odesa Oblast", "Одеська область", "Odeska oblast"),
    "UA-53": ("Poltava Oblast", "Полтавська область", "Poltavska oblast"),
    "UA-56": ("Rivne Oblast", "Рівненська область", "Rivnenska oblast"),
    "UA-61": ("Ternopil Oblast", "Тернопільська область", "Ternopilska oblast"),
    "UA-68": ("Khmelnytskyi Oblast", "Хмельницька область", "Khmelnytska oblast"),
    "UA-71": ("Cherkasy Oblast", "Черкаська область", "Cherkaska oblast"),
    "UA-74": ("Chernihiv Oblast", "Чернігівська область", "Chernihivska oblast"),
    "UA-77": ("Chernivtsi Oblast", "Чернівецька область", "Chernivetska oblast"),
}  # fmt: skip

_SEEDED_ISO = text("SELECT iso_code FROM places WHERE iso_code IS NOT NULL")


@dataclass(frozen=True)
class GazetteerCounts:
    regions: int  # regions inserted or changed
    region_names: int
    settlements: ImportCounts


def region(country: str, props: dict[str, Any], boundary: dict[str, Any]) -> dict[str, Any]:
    """One geoBoundaries ADM1 feature as a seed place, with every spelling it is known by."""
    iso, source_name = props["shapeISO"], props["shapeName"]
    english, ukrainian, adjectival = UKRAINIAN.get(iso, (source_name, None, None))
    spellings = [(source_name, "en"), (ukrainian, "uk"), (adjectival, "uk-Latn")]
    names = [{"name": n, "lang": lang} for n, lang in spellings if n and n != english]
    return {"slug": slugify(english), "name": english, "kind": "region", "parent": country,
            "country_code": COUNTRY_CODES[country], "iso_code": iso, "names": names,
            "boundary": boundary}  # fmt: skip


def read_regions(directory: Path = GAZETTEER_DIR) -> list[dict[str, Any]]:
    """Every ADM1 region of both files, as seed places (with ``boundary``)."""
    regions = []
    for country, name in BOUNDARIES.items():
        with gzip.open(directory / name, "rt", encoding="utf-8") as handle:
            features = json.load(handle)["features"]
        regions += [region(country, f["properties"], f["geometry"]) for f in features]
    return regions


async def load_gazetteer(engine: AsyncEngine, directory: Path = GAZETTEER_DIR) -> GazetteerCounts:
    """The regions (one transaction), then the settlements (the place import's own)."""
    async with engine.begin() as conn:
        seeded = {row[0] for row in (await conn.execute(_SEEDED_ISO)).all()}
        changed = names = 0
        for region in read_regions(directory):
            if region["iso_code"] not in seeded:
                place_changes, name_adds = await upsert_place(conn, region)
                changed, names = changed + place_changes, names + name_adds
    settlements = await import_places(engine, directory / SETTLEMENTS)
    return GazetteerCounts(changed, names, settlements)
