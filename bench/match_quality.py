"""Matching quality: precision and recall of the duplicate-matcher's top candidate.

    .venv/bin/python -m bench.match_quality [--alerts-from DAY] [--alerts-to DAY]
        [--ucdp-from DAY] [--ucdp-to DAY] [--jitter 0.25 [--jitter 0.5 …]] [--seed 7] [--save]

Every row of the three files by default (about 12 minutes on 2 cores); a slice by the days
the rows start in, [from, to).

Two labelled sets, both made from the files alone, without the matcher:

- **Real pairs.** The official and the volunteer air-raid alert files (`seeds/open-data/`)
  report the same alerts twice. An official oblast-level row and a volunteer row are labelled
  the same alert when they name the same oblast (both files spell the 25 oblasts and Kyiv City
  alike), start at most 2 minutes apart, end at most 5 minutes apart (not checked when the
  volunteer row is `naive`: its end was invented) and each is the other's nearest by start
  among such rows. Raion- and hromada-level official rows are imported (they are candidates)
  but not labelled, and are not judged as base events.
- **Synthetic duplicates.** A jittered copy of the UCDP GED rows, imported as another dataset:
  each point moved a seeded random distance, up to ``jitter`` × the radius its location
  precision allows (``match_radius_m``: 2 km exact, 5 km near, 40 km district, 250 km region,
  1 000 km country), on a random bearing; its days shifted together as far as its date
  precision allows (a day-precision date keeps its day; a week-, month- or year-precision span
  keeps its start in its week, month or year, and its end in its own); the two sources of its
  title respelt in the copying source's own style (each dyad one other way, about half the
  place names another way, the same throughout). Each original is labelled with its copy.

The matcher (`app.services.matching.dataset_matches`) is run for one dataset against the
other; each base event's top candidate at the default minimum score is its prediction.
Recall = correct predictions / labelled pairs. Precision = correct predictions / judged
predictions, a prediction being judged when its base or its candidate is in a labelled pair:
two alerts that are both unlabelled (say 4 minutes apart) may well be one alert, so they are
counted apart, and precision over every prediction is given too. UCDP often codes several
events at one point, with one dyad and place name, on overlapping dates; the copy of such a
look-alike is as consistent with the base as the base's own copy, and is counted apart
("look-alikes allowed").

Results: printed; with --save, also bench/results/match_quality.{json,md}.
"""

import argparse
import asyncio
import csv
import gzip
import math
import os
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.ingest.events import import_events
from app.ingest.gazetteer import load_gazetteer
from app.ingest.mappings import load_mapping
from app.ingest.open_data import FILES, OPEN_DATA_DIR
from app.ingest.seed import seed
from app.services.matching import MatchOptions, dataset_matches
from app.settings import Settings
from app.store import devdb
from app.store.engine import make_engine
from app.store.queries.matches import DEFAULT_MIN_SCORE
from bench.common import BENCH_DIR, BENCH_PORT, bench_database, machine, revision, write_results

# (file, dataset, mapping), as `frontline load open-data` imports them.
UCDP, OFFICIAL, VOLUNTEER = FILES
WHO = "match-quality"

START_GAP_S = 120  # one alert: starts at most 2 minutes apart…
END_GAP_S = 300  # …and ends at most 5 minutes apart, unless the volunteer end is invented

# match_radius_m (migration 0016) of the location precision the UCDP reader gives where_prec
# (UCDP_WHERE in app.ingest.event_rows).
RADIUS_M = {"1": 2_000, "2": 5_000, "3": 40_000, "4": 250_000, "5": 250_000,
            "6": 1_000_000, "7": 1_000_000}  # fmt: skip
JITTER = 0.25  # a copy's point moves up to this share of its radius
EARTH_M = 6_371_008.8
# date_prec → the unit its dates name (UCDP_TIME in app.ingest.event_rows; match_window).
DATE_UNIT = {"1": "day", "2": "week", "3": "month", "4": "year", "5": "year"}
# How another source might name the sides (always respelt) and the place (when one applies).
DYADS = {
    "Government of Ukraine - DPR": ["Ukraine - Donetsk People's Republic",
                                    "DPR vs. Government of Ukraine"],
    "Government of Ukraine - LPR": ["Ukraine - Luhansk People's Republic",
                                    "LPR vs. Government of Ukraine"],
    "Government of Ukraine - United Armed Forces of Novorossiya": [
        "Ukraine - Novorossiya forces", "United Armed Forces of Novorossiya vs. Ukraine"],
    "Government of Ukraine - Maidan": ["Ukraine - Maidan protesters", "Maidan vs. Government"],
}  # fmt: skip
SPELLINGS = [("Kiev", "Kyiv"), ("Luhansk", "Lugansk"), ("Donetsk", "Donetske"), ("kh", "h"),
             ("ivka", "ovka"), ("yi", "ii"), ("ia", "iya"), ("ske", "skoe"), ("ts", "c"),
             (" oblast", " region"), (" airport", " air field"), ("Novo", "Nova ")]  # fmt: skip
# Two UCDP rows alike in these, with overlapping windows, are look-alikes: a copy of either
# is as consistent with both (its point within a quarter of the radius of the same point, its
# days in both windows, its title and place the same).
LOOK_ALIKE = ("latitude", "longitude", "type_of_violence", "dyad_name", "where_coordinates")

Row = dict[str, str]


@dataclass(frozen=True)
class Labels:
    """Labelled pairs (base external id, candidate external id) for matching ``base`` against
    ``against``. ``bases``: the base events judged (None: every one); ``look_alikes``: for a
    base, the other candidates that pass every test its labelled one passes."""

    base: str
    against: str
    pairs: frozenset[tuple[str, str]]
    bases: frozenset[str] | None = None
    look_alikes: dict[str, frozenset[str]] = field(default_factory=dict)

    def reversed(self) -> "Labels":
        """The other way round: the candidates' dataset matched against the bases'."""
        pairs = frozenset((b, a) for a, b in self.pairs)
        return Labels(self.against, self.base, pairs, None, self.look_alikes)


@dataclass(frozen=True)
class Quality:
    labelled: int
    predicted: int  # judged-eligible base events with a top candidate at the default score
    judged: int  # predictions whose base or candidate is in a labelled pair
    correct: int
    look_alike: int  # wrong, but the copy of a look-alike of the base
    seconds: float

    @staticmethod
    def _share(part: int, whole: int) -> float:
        return part / whole if whole else 1.0

    @property
    def precision(self) -> float:
        return self._share(self.correct, self.judged)

    @property
    def recall(self) -> float:
        return self._share(self.correct, self.labelled)

    @property
    def precision_all(self) -> float:
        return self._share(self.correct, self.predicted)

    @property
    def lenient_precision(self) -> float:
        return self._share(self.correct + self.look_alike, self.judged)

    @property
    def lenient_recall(self) -> float:
        return self._share(self.correct + self.look_alike, self.labelled)

    def figures(self) -> dict[str, Any]:
        shares = ("precision", "recall", "precision_all", "lenient_precision", "lenient_recall")
        return {"labelled": self.labelled, "predicted": self.predicted, "judged": self.judged,
                "correct": self.correct, "look_alike": self.look_alike,
                **{name: round(getattr(self, name), 4) for name in shares},
                "seconds": round(self.seconds, 1)}  # fmt: skip


# --- files -----------------------------------------------------------------------------------


def read_rows(path: Path) -> tuple[list[str], list[Row]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: Iterable[Row]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _within(rows: list[Row], column: str, first: date | None, last: date | None) -> list[Row]:
    """The rows whose ``column`` (a date or a timestamp) falls in [first, last)."""
    low = first.isoformat() if first else ""
    high = last.isoformat() if last else "9999"
    return [row for row in rows if low <= row[column][:10] < high]


# --- real pairs: the two alert files ---------------------------------------------------------


def official_id(row: Row) -> str:
    """The external id the official mapping gives a row: its id columns joined by |."""
    return "|".join(row[c] for c in ("oblast", "raion", "hromada", "started_at")).strip("|")


def volunteer_id(row: Row) -> str:
    return f"{row['region']}|{row['started_at']}"


def _seconds(a: str, b: str) -> float:
    return abs((datetime.fromisoformat(a) - datetime.fromisoformat(b)).total_seconds())


def start_gap(official: Row, volunteer: Row) -> float | None:
    """How far apart the two rows start (s) when they may be one alert, else None."""
    gap = _seconds(official["started_at"], volunteer["started_at"])
    if gap > START_GAP_S:
        return None
    if volunteer["naive"] != "True" and (
        _seconds(official["finished_at"], volunteer["finished_at"]) > END_GAP_S
    ):
        return None
    return gap


def _nearest(pairs: Iterable[tuple[int, int, float]]) -> tuple[dict[int, int], dict[int, int]]:
    """Each side's nearest other side, from (official, volunteer, gap) (ties: file order)."""
    forth: dict[int, tuple[float, int]] = {}
    back: dict[int, tuple[float, int]] = {}
    for i, j, gap in pairs:
        forth[i] = min(forth.get(i, (gap, j)), (gap, j))
        back[j] = min(back.get(j, (gap, i)), (gap, i))
    return {i: j for i, (_, j) in forth.items()}, {j: i for j, (_, i) in back.items()}


def alert_labels(official: list[Row], volunteer: list[Row]) -> Labels:
    """Official oblast-level rows paired with volunteer rows of the same oblast: mutual nearest
    by start among those that start ≤ 2 min and (unless naive) end ≤ 5 min apart."""
    oblast_rows = [row for row in official if row["level"] == "oblast"]
    by_region: dict[str, list[int]] = defaultdict(list)
    for j, row in enumerate(volunteer):
        by_region[row["region"]].append(j)
    near = (
        (i, j, gap)
        for i, row in enumerate(oblast_rows)
        for j in by_region[row["oblast"]]
        if (gap := start_gap(row, volunteer[j])) is not None
    )
    forth, back = _nearest(near)
    pairs = frozenset((official_id(oblast_rows[i]), volunteer_id(volunteer[j]))
                      for i, j in forth.items() if back[j] == i)  # fmt: skip
    bases = frozenset(official_id(row) for row in oblast_rows)
    return Labels(OFFICIAL[1], VOLUNTEER[1], pairs, bases)


def alert_slice(
    directory: Path, first: date | None = None, last: date | None = None
) -> tuple[Path, Path, Labels]:
    """The alerts of both files that start in [first, last), as two CSV files, and labels."""
    o_header, official = read_rows(OPEN_DATA_DIR / OFFICIAL[0])
    v_header, volunteer = read_rows(OPEN_DATA_DIR / VOLUNTEER[0])
    official = _within(official, "started_at", first, last)
    volunteer = _within(volunteer, "started_at", first, last)
    labels = alert_labels(official, volunteer)
    return (write_rows(directory / "official.csv", o_header, official),
            write_rows(directory / "volunteer.csv", v_header, volunteer), labels)  # fmt: skip


# --- synthetic duplicates: a jittered copy of UCDP GED --------------------------------------


def moved(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    """The point ``metres`` from (lat, lon) on ``bearing`` (radians), on the sphere."""
    d, phi, lam = metres / EARTH_M, math.radians(lat), math.radians(lon)
    phi2 = math.asin(math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(bearing))
    lam2 = lam + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(phi),
                            math.cos(d) - math.sin(phi) * math.sin(phi2))  # fmt: skip
    return math.degrees(phi2), math.degrees(lam2)


def unit_bounds(day: date, unit: str) -> tuple[date, date]:
    """The first and the last day of the day, ISO week, month or year that holds ``day``."""
    if unit == "week":
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    if unit == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if unit == "year":
        return day.replace(month=1, day=1), day.replace(month=12, day=31)
    return day, day


def _days(row: Row) -> tuple[date, date]:
    return date.fromisoformat(row["date_start"]), date.fromisoformat(
        row["date_end"] or row["date_start"]
    )


def window(row: Row) -> tuple[date, date]:
    """The first and the last day a UCDP row may mean (match_window of its dates)."""
    (start, end), unit = _days(row), DATE_UNIT[row["date_prec"]]
    return unit_bounds(start, unit)[0], unit_bounds(end, unit)[1]


def shifted(start: date, end: date, unit: str, rng: random.Random) -> tuple[date, date]:
    """Both days moved alike, the start staying in its unit and the end in its own."""
    (start_first, start_last), (end_first, end_last) = (unit_bounds(start, unit),
                                                        unit_bounds(end, unit))  # fmt: skip
    low = max((start_first - start).days, (end_first - end).days)
    high = min((start_last - start).days, (end_last - end).days)
    delta = timedelta(days=rng.randint(low, high))
    return start + delta, end + delta


def respelt(name: str, rng: random.Random) -> str:
    applicable = [(old, new) for old, new in SPELLINGS if old in name]
    if not applicable:
        return name
    old, new = rng.choice(applicable)
    return name.replace(old, new, 1)


@dataclass(frozen=True)
class Style:
    """How the copying source names things: each dyad and each place one way throughout."""

    dyads: dict[str, str]
    places: dict[str, str]


def house_style(rows: list[Row], rng: random.Random) -> Style:
    """Every dyad respelt; about half the place names respelt, when a rule applies."""
    dyads = {name: rng.choice(DYADS.get(name, [f"{name} (copy)"]))
             for name in sorted({row["dyad_name"] for row in rows})}  # fmt: skip
    places = {name: respelt(name, rng) if rng.random() < 0.5 else name
              for name in sorted({row["where_coordinates"] for row in rows})}  # fmt: skip
    return Style(dyads, places)


def jittered(row: Row, rng: random.Random, style: Style, jitter: float = JITTER) -> Row:
    """A copy of a UCDP row as another source might report the same event."""
    copy = dict(row)
    metres = rng.uniform(0, jitter * RADIUS_M[row["where_prec"]])
    bearing = rng.uniform(0, 2 * math.pi)
    lat, lon = moved(float(row["latitude"]), float(row["longitude"]), metres, bearing)
    copy["latitude"], copy["longitude"] = f"{lat:.6f}", f"{lon:.6f}"
    copy["geom_wkt"] = f"POINT ({lon:.6f} {lat:.6f})"
    start, end = shifted(*_days(row), DATE_UNIT[row["date_prec"]], rng)
    copy["date_start"], copy["date_end"] = start.isoformat(), end.isoformat()
    copy["dyad_name"] = style.dyads[row["dyad_name"]]
    copy["where_coordinates"] = style.places[row["where_coordinates"]]
    return copy


def look_alikes(rows: list[Row]) -> dict[str, frozenset[str]]:
    """For each row, the others alike in all but their dates, whose windows overlap its own."""
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        groups[tuple(row[column] for column in LOOK_ALIKE)].append(row)
    found: dict[str, set[str]] = defaultdict(set)
    for group in groups.values():
        spans = [(row["id"], *window(row)) for row in group]
        for a, a_first, a_last in spans:
            for b, b_first, b_last in spans:
                if a != b and a_first <= b_last and b_first <= a_last:
                    found[a].add(b)
    return {key: frozenset(ids) for key, ids in found.items()}


def ucdp_slice(
    directory: Path, first: date | None = None, last: date | None = None
) -> tuple[Path, list[str], list[Row]]:
    """The UCDP rows that start in [first, last), as a CSV file; its header and rows."""
    header, rows = read_rows(OPEN_DATA_DIR / UCDP[0])
    rows = _within(rows, "date_start", first, last)
    return write_rows(directory / "ucdp.csv", header, rows), header, rows


def ucdp_copy(
    directory: Path, header: list[str], rows: list[Row], dataset: str, seed: int,
    jitter: float = JITTER,
) -> tuple[Path, Labels]:  # fmt: skip
    """A jittered copy of ``rows`` as a CSV file to import as ``dataset``, and the labels."""
    rng = random.Random(seed)
    style = house_style(rows, rng)
    copies = (jittered(row, rng, style, jitter) for row in rows)
    path = write_rows(directory / f"{dataset}.csv", header, copies)
    pairs = frozenset((row["id"], row["id"]) for row in rows)
    return path, Labels(UCDP[1], dataset, pairs, None, look_alikes(rows))


# --- the measurement -------------------------------------------------------------------------


async def load(engine: AsyncEngine, files: Iterable[tuple[Path, str, str]]) -> None:
    """The founding seeds and the full gazetteer, as `frontline seed` loads them (the founding
    oblasts carry the adjectival names the alert files use), then each (file, dataset,
    mapping) through the ordinary import."""
    await seed(engine)
    await load_gazetteer(engine)
    for path, dataset, mapping in files:
        await import_events(engine, path, dataset, WHO, partial=True, mapping=load_mapping(mapping))


_EXTERNAL_IDS = text("SELECT id, external_id FROM events WHERE dataset = :dataset")


async def top_candidates(engine: AsyncEngine, base: str, against: str) -> dict[str, str]:
    """Each base event's top candidate in ``against`` at the default minimum score, both by
    external id."""
    async with engine.connect() as conn:
        rows = await conn.execute(_EXTERNAL_IDS, {"dataset": base})
        external = {int(row.id): str(row.external_id) for row in rows}
    options = MatchOptions(min_score=DEFAULT_MIN_SCORE, limit=1, against=(against,))
    top: dict[str, str] = {}
    async for batch in await dataset_matches(engine, base, options):
        for row in batch:
            top.setdefault(external[int(row.event_id)], str(row.external_id))
    return top


def judge(labels: Labels, top: dict[str, str], seconds: float = 0.0) -> Quality:
    truth = dict(labels.pairs)
    labelled_candidates = {b for _, b in labels.pairs}
    predicted = {a: b for a, b in top.items() if labels.bases is None or a in labels.bases}
    judged = {a: b for a, b in predicted.items() if a in truth or b in labelled_candidates}
    correct = sum(1 for a, b in judged.items() if truth.get(a) == b)
    alike = sum(1 for a, b in judged.items()
                if truth.get(a) != b and b in labels.look_alikes.get(a, ()))  # fmt: skip
    return Quality(len(labels.pairs), len(predicted), len(judged), correct, alike, seconds)


async def measure(engine: AsyncEngine, labels: Labels) -> Quality:
    """The matcher run for ``labels.base`` against ``labels.against``, judged by the labels."""
    started = time.perf_counter()
    top = await top_candidates(engine, labels.base, labels.against)
    return judge(labels, top, time.perf_counter() - started)


# --- the command -----------------------------------------------------------------------------


def table(results: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"| {name} | {r['labelled']} | {r['predicted']} | {r['judged']} | {r['correct']} | "
        f"**{r['precision']:.3f}** | **{r['recall']:.3f}** | {r['precision_all']:.3f} | "
        f"{r['lenient_precision']:.3f} / {r['lenient_recall']:.3f} | {r['seconds']} |"
        for name, r in results.items()
    ]
    return (
        f"Top candidate at the default min score {DEFAULT_MIN_SCORE} "
        "(`python -m bench.match_quality`)\n\n"
        "| set: base → against | labelled | predicted | judged | correct | precision | recall "
        "| precision, all predictions | look-alikes allowed: P / R | s |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(lines)
    )


async def run(url: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    official, volunteer, alerts = alert_slice(directory, args.alerts_from, args.alerts_to)
    original, header, rows = ucdp_slice(directory, args.ucdp_from, args.ucdp_to)
    copies = [ucdp_copy(directory, header, rows, f"ucdp-copy-{round(j * 100)}", args.seed, j)
              for j in args.jitter]  # fmt: skip
    files = [(official, OFFICIAL[1], OFFICIAL[2]), (volunteer, VOLUNTEER[1], VOLUNTEER[2]),
             (original, UCDP[1], UCDP[2])]  # fmt: skip
    files += [(path, labels.against, UCDP[2]) for path, labels in copies]
    sets = {"alerts: official → volunteer": alerts,
            "alerts: volunteer → official": alerts.reversed()}  # fmt: skip
    for (_, labels), jitter in zip(copies, args.jitter, strict=True):
        sets[f"UCDP: original → copy, jitter {jitter}"] = labels
        sets[f"UCDP: copy → original, jitter {jitter}"] = labels.reversed()
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        started = time.perf_counter()
        await load(engine, files)
        loaded = time.perf_counter() - started
        results = {}
        for name, labels in sets.items():
            results[name] = (await measure(engine, labels)).figures()
            print(f"{name}: precision {results[name]['precision']}, "
                  f"recall {results[name]['recall']}", flush=True)  # fmt: skip
    finally:
        await engine.dispose()
    return {"load_seconds": round(loaded, 1), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    day = date.fromisoformat
    parser.add_argument("--alerts-from", type=day, help="first day of alerts (default: all)")
    parser.add_argument("--alerts-to", type=day, help="the day after the last")
    parser.add_argument("--ucdp-from", type=day, help="first day of UCDP events (default: all)")
    parser.add_argument("--ucdp-to", type=day, help="the day after the last")
    parser.add_argument(
        "--jitter",
        type=float,
        action="append",
        help=f"share of the radius a copy moves (repeatable; default {JITTER})",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="write bench/results/match_quality.*")
    args = parser.parse_args()
    args.jitter = args.jitter or [JITTER]
    name = "match_quality"
    if not os.environ.get("BENCH_DATABASE_URL"):  # else that database, which should be empty
        cluster = devdb.start(BENCH_DIR, BENCH_PORT)
        if devdb.database_exists(cluster, name):
            devdb.drop_database(cluster, name)
    url = bench_database(name)
    with tempfile.TemporaryDirectory() as tmp:
        measured = asyncio.run(run(url, args, Path(tmp)))
    slices = {"alerts": [args.alerts_from, args.alerts_to], "ucdp": [args.ucdp_from, args.ucdp_to]}
    doc = {"benchmark": "match-quality", "machine": machine(), "revision": revision(),
           "slices": {k: [d.isoformat() if d else None for d in v] for k, v in slices.items()},
           "seed": args.seed, "jitter": args.jitter, "min_score": DEFAULT_MIN_SCORE,
           **measured}  # fmt: skip
    shown = table(measured["results"]) + f"\n\nLoaded in {measured['load_seconds']} s."
    if args.save:
        write_results("match_quality", doc, shown)
    else:
        print(shown)


if __name__ == "__main__":
    main()
