"""The duplicate-matcher's quality, measured on labelled pairs (bench/match_quality.py).

The labels come from the files alone, never from the matcher:

- Real pairs: `seeds/open-data/`'s official and volunteer air-raid alerts that start on
  1-10 August 2022 (both MIT, Vadimkin/ukrainian-air-raid-sirens-dataset). An official
  oblast-level row and a volunteer row are one alert when they name the same oblast (the two
  files spell the oblasts alike), start ≤ 2 min apart, end ≤ 5 min apart (not checked when the
  volunteer row is `naive`: its end was invented) and each is the other's nearest by start
  among such rows. Raion- and hromada-level official rows are imported, and are candidates,
  but are not labelled nor judged as base events.
- Synthetic duplicates: UCDP GED's events that start in the first half of 2015 (CC BY 4.0)
  and a seeded jittered copy imported as another dataset: each point moved up to a quarter of
  the radius its location precision allows, its days shifted as far as its date precision
  allows (a day-precision date keeps its day), its dyad respelt and about half its place names
  (each one way throughout, as another source would). Each original is labelled with its copy.

The matcher runs for one dataset against the other (both ways for the alerts); each event's
top candidate at the default minimum score is its prediction. Recall = correct / labelled
pairs; precision = correct / judged predictions (those whose base or candidate is labelled).
UCDP codes many events at one point, with one dyad and place name, on overlapping dates: the
copy of such a look-alike is as consistent with the base as its own copy, so precision that
counts them as right is checked too. The floors are the figures this matcher reaches, rounded
down to two decimals less 0.01: a matcher that gets worse fails here.
"""

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from pyproj import Geod
from sqlalchemy.ext.asyncio import AsyncEngine

from app.store import devdb
from bench import match_quality as mq
from tests.conftest import scratch_database

ALERTS = (date(2022, 8, 1), date(2022, 8, 11))
UCDP = (date(2015, 1, 1), date(2015, 7, 1))
SEED = 7
COPY = "ucdp-copy"
GEOD = Geod(ellps="WGS84")

# (precision, recall, precision with look-alikes allowed) at least; reached: alerts 0.994,
# 1.000; 0.977, 0.983; UCDP 0.704, 0.704, 0.998.
FLOORS = {
    "alerts: official → volunteer": (0.98, 0.99, 0.98),
    "alerts: volunteer → official": (0.96, 0.97, 0.96),
    "UCDP: original → copy": (0.69, 0.69, 0.98),
}


@dataclass(frozen=True)
class Prepared:
    files: list[tuple[Path, str, str]]  # (file, dataset, mapping) to import
    sets: dict[str, mq.Labels]
    ucdp_rows: list[dict[str, str]]
    copy: Path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Prepared:
    directory = tmp_path_factory.mktemp("match-quality")
    official, volunteer, alerts = mq.alert_slice(directory, *ALERTS)
    original, header, rows = mq.ucdp_slice(directory, *UCDP)
    copy, ucdp = mq.ucdp_copy(directory, header, rows, COPY, SEED)
    files = [(official, mq.OFFICIAL[1], mq.OFFICIAL[2]),
             (volunteer, mq.VOLUNTEER[1], mq.VOLUNTEER[2]),
             (original, mq.UCDP[1], mq.UCDP[2]), (copy, COPY, mq.UCDP[2])]  # fmt: skip
    sets = {"alerts: official → volunteer": alerts,
            "alerts: volunteer → official": alerts.reversed(),
            "UCDP: original → copy": ucdp}  # fmt: skip
    return Prepared(files, sets, rows, copy)


@pytest.fixture(scope="module")
def measured(cluster: devdb.Cluster, prepared: Prepared) -> Iterator[dict[str, mq.Quality]]:
    """Every set measured in a database of its own: seeds, gazetteer, the four files."""

    async def load_and_measure(engine: AsyncEngine) -> dict[str, mq.Quality]:
        await mq.load(engine, prepared.files)
        return {name: await mq.measure(engine, labels) for name, labels in prepared.sets.items()}

    with scratch_database(cluster, "match_quality", load_and_measure) as (_, results):
        yield results


def test_the_labelled_sets(prepared: Prepared) -> None:
    """The labels are what the rules above give these slices (not a matcher's output)."""
    alerts = prepared.sets["alerts: official → volunteer"]
    assert alerts.bases is not None
    assert (len(alerts.pairs), len(alerts.bases)) == (343, 377)
    assert all(a.split("|")[0] == b.split("|")[0] for a, b in alerts.pairs)  # one oblast
    ucdp = prepared.sets["UCDP: original → copy"]
    assert len(ucdp.pairs) == 585 and all(a == b for a, b in ucdp.pairs)


def test_copies_stay_within_the_tolerances(prepared: Prepared) -> None:
    """Each copy is where and when its precision lets a second report put it, titled apart."""
    with prepared.copy.open(encoding="utf-8", newline="") as handle:
        copies = {row["id"]: row for row in csv.DictReader(handle)}
    rows = prepared.ucdp_rows
    moved = respelt = 0
    for row in rows:
        copy = copies[row["id"]]
        lon, lat = float(row["longitude"]), float(row["latitude"])
        _, _, metres = GEOD.inv(lon, lat, float(copy["longitude"]), float(copy["latitude"]))
        assert metres <= mq.JITTER * mq.RADIUS_M[row["where_prec"]] * 1.01
        moved += metres > 0
        assert mq.window(copy) == mq.window(row)  # the same day, week, month or year
        assert copy["dyad_name"] != row["dyad_name"]  # so no title is the original's
        respelt += copy["where_coordinates"] != row["where_coordinates"]
    assert moved == len(rows) and 0 < respelt < len(rows)


@pytest.mark.parametrize("name", list(FLOORS))
def test_precision_and_recall_of_the_top_candidate(
    measured: dict[str, mq.Quality], name: str
) -> None:
    quality, (precision, recall, lenient) = measured[name], FLOORS[name]
    assert quality.judged > 0.9 * quality.labelled, quality.figures()
    assert quality.precision >= precision, quality.figures()
    assert quality.recall >= recall, quality.figures()
    assert quality.lenient_precision >= lenient, quality.figures()
