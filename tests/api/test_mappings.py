"""Any CSV through a mapping: the shipped mappings import real samples (every row accounted
for, a re-import changes nothing), region-level rows take their oblast, and a bad mapping is a
clear error that writes nothing."""

import asyncio
import csv
import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.dates import DateOrderError
from app.ingest.event_rows import ImportFileError
from app.ingest.event_staging import ImportReport
from app.ingest.events import import_events
from app.ingest.gazetteer import load_gazetteer
from app.ingest.mappings import MappingError, load_mapping
from app.ingest.open_data import load_open_data
from app.ingest.seed import seed
from app.store import devdb
from app.store.engine import make_engine
from tests.conftest import (
    client_for,
    dump_tables,
    execute,
    scratch_database,
    seed_into,
    settings_for,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = {
    "air_raid_alerts_official": "air_raid_alerts_official_sample.csv.gz",
    "air_raid_alerts_volunteer": "air_raid_alerts_volunteer_sample.csv.gz",
    "ucdp_ged": "ucdp_ged_ukraine_sample.csv.gz",
}


async def _seeds_and_gazetteer(engine: AsyncEngine) -> None:
    await seed(engine)
    await load_gazetteer(engine)


@pytest.fixture(scope="module")
def gazetteer_url(cluster: devdb.Cluster) -> Iterator[str]:
    """One database with the founding seeds and the full gazetteer, for the whole module."""
    with scratch_database(cluster, "g", _seeds_and_gazetteer) as (url, _):
        yield url


def run(url: str, path: Path, dataset: str, mapping: str, **options: Any) -> ImportReport:
    async def go() -> ImportReport:
        engine = make_engine(url, settings_for(url))
        try:
            return await import_events(engine, path, dataset, "test", partial=True,
                                       mapping=load_mapping(mapping), **options)  # fmt: skip
        finally:
            await engine.dispose()

    return asyncio.run(go())


def rows_in(path: Path) -> int:
    """Records, not lines: a quoted value may hold a line break."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


@pytest.mark.parametrize("mapping", sorted(SAMPLES))
def test_every_shipped_mapping_imports_its_sample(gazetteer_url: str, mapping: str) -> None:
    path = DATA / SAMPLES[mapping]
    dataset = mapping.replace("_", "-")
    first = run(gazetteer_url, path, dataset, mapping)
    assert first.rows == rows_in(path)
    assert first.inserted + first.updated + first.unchanged + first.rejected_count == first.rows
    # Rejected, each with its reason: the stray "Lubenskyi raion" and repeated alerts only.
    assert first.rejected_count <= 5 and all(r["reason"] for r in first.rejected)
    again = run(gazetteer_url, path, dataset, mapping)
    assert (again.inserted, again.updated) == (0, 0)
    assert again.unchanged == first.inserted + first.updated


def test_an_alert_is_tied_to_its_oblast(gazetteer_url: str) -> None:
    run(
        gazetteer_url,
        DATA / SAMPLES["air_raid_alerts_official"],
        "alerts",
        "air_raid_alerts_official",
    )
    rows = execute(gazetteer_url, "SELECT p.slug, e.location_precision, e.event_type, "
                   "ST_Equals(e.geom, p.geom), e.occurred_until > e.occurred_at FROM events e "
                   "JOIN places p ON p.id = e.place_id WHERE e.dataset = 'alerts' "
                   "AND e.title = 'Air-raid alert: Vinnytska oblast' LIMIT 1")  # fmt: skip
    assert rows == [("vinnytsia-oblast", "region", "air_raid_alert", True, True)]
    with client_for(gazetteer_url) as client:
        within = client.get("/events", params={"within": "Vinnytsia Oblast", "limit": 1000,
                                               "event_type": "air_raid_alert"}).json()  # fmt: skip
    assert within["numberReturned"] > 0


def test_a_place_nobody_knows_is_a_named_rejection(gazetteer_url: str) -> None:
    report = run(gazetteer_url, DATA / SAMPLES["air_raid_alerts_official"], "alerts-2",
                 "air_raid_alerts_official")  # fmt: skip
    strays = {r["reason"] for r in report.rejected if r["column"] == "place"}
    assert strays == {"no place is called 'Lubenskyi raion' and the row has no point"}


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


MAPPING = """
[columns]
id = "ID"
start = "Date"
lon = "Lng"
lat = "Lat"
title = "{What} at {Where}"
event_type = "Kind"
fatalities = "Killed"
url = "Link"
published = "Posted"

[event_types]
"Arty" = "shelling"
"UAV" = "drone_strike"

[citation]
source = "OSINT sheet"
kind = "osint"
"""


def test_an_osint_sheet_with_its_own_column_names(fresh_url: str, tmp_path: Path) -> None:
    mapping = write(tmp_path, "sheet.toml", MAPPING)
    # As a spreadsheet exports it: a byte-order mark, `;` between values, CRLF line ends.
    lines = ["\ufeffID;Date;Lng;Lat;What;Where;Kind;Killed;Link;Posted",
             "a1;2025-03-10T06:00:00Z;35.27;51.19;Shelling;Sudzha;Arty;2;https://t.me/x/1;10.03.2025",
             "a2;2025-03-11;35.30;51.20;Drone;Sudzha;Boat;;;"]  # fmt: skip
    sheet = write(tmp_path, "sheet.csv", "\r\n".join(lines) + "\r\n")
    seed_into(fresh_url)
    report = run(fresh_url, sheet, "sheet", str(mapping))
    assert (report.inserted, report.rejected_count, report.warning_count) == (2, 0, 1)
    rows = execute(fresh_url, "SELECT external_id, event_type, sub_event_type, fatalities "
                   "FROM events WHERE dataset = 'sheet' ORDER BY 1")  # fmt: skip
    assert rows == [("a1", "shelling", None, 2), ("a2", "other", "Boat", None)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            MAPPING.replace('lat = "Lat"', 'latitude = "Lat"'),
            "unknown key columns.latitude; use ['actors', 'description',",
        ),
        (
            MAPPING.replace('"UAV" = "drone_strike"', '"UAV" = "drones"'),
            "event_types.'UAV' = 'drones' is not an event type",
        ),
        (MAPPING.replace('id = "ID"\n', ""), "columns.id is required"),
        (MAPPING + "\n[extras]\n", "unknown section [extras]"),
    ],
)
def test_a_bad_mapping_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_mapping(str(write(tmp_path, "bad.toml", text)))


def test_a_missing_column_writes_nothing(fresh_url: str, tmp_path: Path) -> None:
    mapping = write(tmp_path, "sheet.toml", MAPPING)
    sheet = write(
        tmp_path, "sheet.csv", "ID,Date,Lng,Lat,What,Where,Kind\na1,2025-03-10,35,51,x,y,Arty\n"
    )
    before = dump_tables(fresh_url)
    command = [sys.executable, "-m", "app.cli", "import", str(sheet), "--dataset", "sheet",
               "--mapping", str(mapping)]  # fmt: skip
    env = {"DATABASE_URL": fresh_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 1
    assert "mapping sheet: the file has no column Killed, Link, Posted" in done.stderr
    assert dump_tables(fresh_url) == before


DATED = """
[columns]
id = "n"
start = "when"
lon = "x"
lat = "y"
title = "Strike {n}"
"""


def test_day_month_dates_are_never_guessed(fresh_url: str, tmp_path: Path) -> None:
    mapping = str(write(tmp_path, "dated.toml", DATED))
    rows = ["n,when,x,y", "1,01/02/2025,35.2,51.1", "2,03/04/2025,35.2,51.1"]
    ambiguous = write(tmp_path, "a.csv", "\n".join(rows) + "\n")
    before = dump_tables(fresh_url)
    with pytest.raises(DateOrderError, match=r"column when: day and month cannot be told apart "
                       r"\('01/02/2025', '03/04/2025'\)"):  # fmt: skip
        run(fresh_url, ambiguous, "dated", mapping)
    assert dump_tables(fresh_url) == before
    said = run(fresh_url, ambiguous, "dated", mapping, date_format="DD/MM/YYYY")
    assert said.inserted == 2
    rows = ["n,when,x,y", "3,01/02/2025,35.2,51.1", "4,23/09/2022 16:05,35.2,51.1"]
    proved = write(tmp_path, "b.csv", "\n".join(rows) + "\n")
    assert run(fresh_url, proved, "dated", mapping).inserted == 2  # 23 can only be a day
    days = execute(fresh_url, "SELECT external_id, occurred_at::date::text FROM events "
                   "WHERE dataset = 'dated' ORDER BY 1")  # fmt: skip
    assert days == [("1", "2025-02-01"), ("2", "2025-04-03"), ("3", "2025-02-01"),
                    ("4", "2022-09-23")]  # fmt: skip


def test_an_older_spreadsheet_export_with_its_encoding(fresh_url: str, tmp_path: Path) -> None:
    text = DATED.replace('title = "Strike {n}"', 'title = "Strike at {where}"')
    mapping = str(write(tmp_path, "where.toml", text))
    path = tmp_path / "c.csv"
    path.write_bytes("n,when,x,y,where\n1,2025-02-01,35.2,51.1,Sudža\n".encode("cp1252"))
    refusal = r"not utf-8 text; say the file's encoding \(--encoding"
    with pytest.raises(ImportFileError, match=refusal):
        run(fresh_url, path, "enc", mapping)
    assert run(fresh_url, path, "enc", mapping, encoding="cp1252").inserted == 1
    assert execute(fresh_url, "SELECT title FROM events WHERE dataset = 'enc'") == [
        ("Strike at Sudža",)
    ]


def test_open_data_loads_through_the_same_path(fresh_url: str) -> None:
    """`frontline load open-data` on the samples: the gazetteer first, then each file through
    its mapping; a second load changes nothing."""
    samples = (
        (SAMPLES["ucdp_ged"], "ucdp-ged", "ucdp_ged"),
        (SAMPLES["air_raid_alerts_official"], "air-raid-alerts-official",
         "air_raid_alerts_official"),
        (SAMPLES["air_raid_alerts_volunteer"], "air-raid-alerts-volunteer",
         "air_raid_alerts_volunteer"),
    )  # fmt: skip

    async def load() -> list[ImportReport]:
        engine = make_engine(fresh_url, settings_for(fresh_url))
        try:
            await seed(engine)
            return await load_open_data(engine, DATA, samples)
        finally:
            await engine.dispose()

    first = asyncio.run(load())
    assert [r.dataset for r in first] == [s[1] for s in samples]
    assert all(r.inserted > 0.95 * r.rows for r in first)
    again = asyncio.run(load())
    assert [r.inserted + r.updated for r in again] == [0, 0, 0]


SHEET = [
    "Ref;Datum;Lng;Lat;Headline;Town;Category;Deaths;Link",
    "r1;23/09/2022;35.27;51.19;Shelling of the centre;Sudzha;Shelling;2;https://t.me/a/1",
    "r2;24/09/2022;35.30;51.20;Drone over the bridge;Sudzha;UAV attack;;https://t.me/a/2",
    "r3;01/10/2022;36.25;49.98;Missile strike;Kharkiv;missile strike;5;",
]


def test_inspect_writes_a_mapping_that_imports_the_file(fresh_url: str, tmp_path: Path) -> None:
    sheet = write(tmp_path, "sheet.csv", "\r\n".join(SHEET) + "\r\n")
    command = [sys.executable, "-m", "app.cli", "import", str(sheet), "--inspect"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    mapping = done.stdout
    for line in ('id = "Ref"', 'start = "Datum"', 'lon = "Lng"', 'lat = "Lat"',
                 'title = "{Headline}"', 'event_type = "Category"', 'fatalities = "Deaths"',
                 '"Shelling" = "shelling"', '"missile strike" = "missile_strike"',
                 '"UAV attack" = "other"',
                 'date_format = "DD/MM/YYYY"  # proved by the values of Datum'):  # fmt: skip
        assert line in mapping, line
    path = write(tmp_path, "sheet.toml", mapping)
    seed_into(fresh_url)
    report = run(fresh_url, sheet, "sheet", str(path))
    assert (report.inserted, report.rejected_count) == (3, 0)
    assert execute(fresh_url, "SELECT occurred_at::date::text FROM events WHERE "
                   "external_id = 'r1' AND dataset = 'sheet'") == [("2022-09-23",)]  # fmt: skip


def test_inspect_proposes_an_id_when_none_is_named(gazetteer_url: str, tmp_path: Path) -> None:
    sample = DATA / SAMPLES["air_raid_alerts_volunteer"]
    command = [sys.executable, "-m", "app.cli", "import", str(sample), "--inspect"]
    mapping = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    assert 'id = ["region", "started_at"]' in mapping
    report = run(
        gazetteer_url, sample, "volunteer-inspected", str(write(tmp_path, "v.toml", mapping))
    )
    assert report.inserted == report.rows


def test_plainly_named_columns_need_no_mapping(fresh_url: str, tmp_path: Path) -> None:
    """A CSV of no known format imports as `--inspect` would map it, when its columns say
    what they hold; otherwise the refusal says how to write a mapping."""
    seed_into(fresh_url)
    lines = ["id,date,latitude,longitude,type", "p1,2025-03-10,51.19,35.27,Shelling",
             "p2,2025-03-11,51.20,35.30,Drone strike"]  # fmt: skip
    plain = write(tmp_path, "plain.csv", "\n".join(lines) + "\n")

    async def go(path: Path) -> ImportReport:
        engine = make_engine(fresh_url, settings_for(fresh_url))
        try:
            return await import_events(engine, path, "plain", "test")
        finally:
            await engine.dispose()

    report = asyncio.run(go(plain))
    assert (report.format, report.inserted) == ("mapping detected", 2)
    assert execute(fresh_url, "SELECT event_type FROM events WHERE dataset = 'plain' "
                   "ORDER BY external_id") == [("shelling",), ("drone_strike",)]  # fmt: skip
    vague = write(tmp_path, "vague.csv", "a,b\n1,2\n")
    refusal = (r"no columns are named like a time and a point or a place: write a mapping "
               r"\(frontline import vague.csv --inspect")  # fmt: skip
    with pytest.raises(ImportFileError, match=refusal):
        asyncio.run(go(vague))
