"""The synthetic conflict events the benchmarks load: places, phases, mixes and one Generator.

Events cluster around the seeded front-line and border places, each active in phases that
follow the war's course, so the data has the spatial and temporal skew real map clients hit.
Seeded: the same seed gives the same events.
"""

import bisect
import math
import random
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

START = datetime(2022, 2, 24, tzinfo=UTC)
DAY = 86400.0
DATASET = "bench"
GENERATOR_VERSION = 5  # bump when the data changes shape: loaded databases are rebuilt

# (place slug, spread in degrees, phases: (from, to or None = the end, events per day)).
# Rates are relative; intense phases are the battles everyone remembers.
FRONTS: list[tuple[str, float, list[tuple[str, str | None, float]]]] = [
    ("kharkiv", 0.25, [("2022-02-24", "2022-05-15", 25), ("2022-05-15", None, 4),
                       ("2024-05-10", "2024-09-01", 6)]),
    ("vovchansk", 0.12, [("2022-02-24", "2024-05-10", 3), ("2024-05-10", None, 12)]),
    ("kupiansk", 0.2, [("2022-09-01", "2022-10-01", 15), ("2022-10-01", None, 8)]),
    ("donetsk", 0.15, [("2022-02-24", None, 6)]),
    ("avdiivka", 0.08, [("2022-02-24", "2023-10-10", 6), ("2023-10-10", "2024-02-18", 35),
                        ("2024-02-18", "2024-06-01", 8)]),
    ("bakhmut", 0.1, [("2022-05-15", "2022-08-01", 6), ("2022-08-01", "2023-05-21", 30),
                      ("2023-05-21", "2023-12-01", 10)]),
    ("chasiv-yar", 0.08, [("2023-05-21", "2024-04-01", 6), ("2024-04-01", None, 15)]),
    ("toretsk", 0.08, [("2022-03-01", "2024-06-15", 3), ("2024-06-15", "2025-03-01", 18),
                       ("2025-03-01", None, 5)]),
    ("kostiantynivka", 0.1, [("2022-02-24", "2025-01-01", 2), ("2025-01-01", None, 14)]),
    ("kramatorsk", 0.1, [("2022-02-24", None, 3)]),
    ("sloviansk", 0.1, [("2022-02-24", None, 2)]),
    ("lyman", 0.12, [("2022-04-20", "2022-10-01", 15), ("2022-10-01", None, 6)]),
    ("siversk", 0.1, [("2022-06-01", None, 5)]),
    ("pokrovsk", 0.12, [("2022-03-01", "2024-02-18", 2), ("2024-02-18", "2024-07-15", 8),
                        ("2024-07-15", None, 30)]),
    ("myrnohrad", 0.06, [("2024-07-15", None, 10)]),
    ("selydove", 0.06, [("2024-06-01", "2024-11-01", 12)]),
    ("kurakhove", 0.08, [("2022-03-01", "2024-06-01", 3), ("2024-06-01", "2025-01-10", 20),
                         ("2025-01-10", None, 4)]),
    ("mariupol", 0.08, [("2022-02-24", "2022-05-20", 40), ("2022-05-20", None, 0.5)]),
    ("luhansk", 0.3, [("2022-02-24", "2022-07-03", 12), ("2022-07-03", None, 1.5)]),
    ("zaporizhzhia", 0.15, [("2022-02-24", None, 3)]),
    ("orikhiv", 0.15, [("2022-03-01", "2023-06-01", 6), ("2023-06-01", "2023-11-01", 25),
                       ("2023-11-01", None, 8)]),
    ("kherson", 0.2, [("2022-02-24", "2022-11-11", 12), ("2022-11-11", None, 9)]),
    ("sudzha", 0.12, [("2024-08-06", "2025-03-16", 30), ("2025-03-16", "2025-05-01", 4)]),
    ("korenevo", 0.12, [("2024-08-06", "2025-03-16", 12)]),
    ("glushkovo", 0.1, [("2024-09-10", "2025-03-20", 8)]),
    ("kursk", 0.15, [("2022-06-01", None, 1), ("2024-08-06", "2025-04-01", 4)]),
    ("belgorod", 0.1, [("2022-04-01", None, 3), ("2023-12-29", "2024-06-01", 8)]),
    ("shebekino", 0.08, [("2022-06-01", None, 3), ("2023-05-22", "2023-06-20", 20)]),
    ("grayvoron", 0.06, [("2022-06-01", None, 1), ("2023-05-22", "2023-06-05", 25)]),
    ("krasnaya-yaruga", 0.05, [("2022-06-01", None, 0.5)]),
    ("demidovka", 0.03, [("2025-03-18", "2025-05-01", 10)]),
    ("prilesye", 0.03, [("2025-03-18", "2025-04-15", 8)]),
    ("sumy", 0.2, [("2022-02-24", "2022-04-05", 10), ("2022-04-05", None, 3),
                   ("2025-03-01", None, 6)]),
    ("krasnopillia", 0.08, [("2022-06-01", None, 3)]),
    ("velyka-pysarivka", 0.08, [("2022-06-01", None, 3), ("2024-08-06", "2025-03-16", 6)]),
    ("bryansk", 0.2, [("2022-06-01", None, 0.5)]),
    ("rostov-on-don", 0.1, [("2022-06-01", None, 0.3)]),
    ("donetsk-rostov", 0.1, [("2023-01-01", None, 0.2)]),
    ("ukraine", 0.3, [("2022-02-24", "2022-04-01", 20), ("2022-04-01", None, 2)]),  # Kyiv
]  # fmt: skip
# Places far from the front lines: strikes and alerts rather than ground fighting.
REAR = {"kharkiv", "zaporizhzhia", "sumy", "belgorod", "kursk", "bryansk", "rostov-on-don",
        "donetsk-rostov", "ukraine", "kramatorsk", "sloviansk"}  # fmt: skip
INCURSION = {"sudzha", "korenevo", "glushkovo", "demidovka", "prilesye", "velyka-pysarivka"}

MIXES = {
    "front": {"battle": 30, "shelling": 30, "drone_strike": 15, "airstrike": 8,
              "ground_operation": 7, "territorial_change": 3, "explosion": 3, "other": 4},
    "rear": {"missile_strike": 25, "drone_strike": 30, "shelling": 15, "air_raid_alert": 15,
             "explosion": 8, "violence_against_civilians": 3, "statement": 2, "protest": 1,
             "other": 1},
    "incursion": {"incursion": 20, "battle": 30, "shelling": 20, "drone_strike": 15,
                  "ground_operation": 10, "territorial_change": 5},
}  # fmt: skip
SUB_TYPES = {"battle": "Armed clash", "ground_operation": "Attack", "incursion": "Armed clash",
             "shelling": "Shelling/artillery/missile attack", "airstrike": "Air/drone strike",
             "missile_strike": "Shelling/artillery/missile attack",
             "drone_strike": "Air/drone strike", "explosion": "Remote explosive/landmine/IED",
             "territorial_change": "Non-state actor overtakes territory"}  # fmt: skip
TITLES = {"battle": "Clashes near {}", "ground_operation": "Assault towards {}",
          "incursion": "Cross-border raid near {}", "shelling": "Artillery shelling of {}",
          "airstrike": "Glide-bomb strike on {}", "missile_strike": "Missile strike on {}",
          "drone_strike": "Drone attack on {}", "explosion": "Explosion reported in {}",
          "territorial_change": "Control changes around {}", "statement": "Statement on {}",
          "air_raid_alert": "Air-raid alert over {}",
          "violence_against_civilians": "Civilians harmed in {}", "protest": "Protest in {}",
          "other": "Incident near {}"}  # fmt: skip
# Shares of the location precisions (Generator._where says what each does to the point).
LOCATION = {"exact": 20, "near": 25, "settlement": 35, "district": 10, "region": 8, "country": 2}
TIME = {"minute": 10, "hour": 20, "day": 58, "week": 7, "month": 5}
VERIFICATION = {"unverified": 25, "claimed": 35, "disputed": 10, "confirmed": 28, "refuted": 2}
STANCES = {"reports": 50, "claims": 25, "confirms": 15, "denies": 5, "disputes": 5}
UA_FORCES, RU_FORCES = "Armed Forces of Ukraine", "Armed Forces of the Russian Federation"
UNITS = {UA_FORCES: ["47th Mechanized Brigade", "3rd Assault Brigade", "93rd Mechanized Brigade",
                     "Azov Brigade", "80th Air Assault Brigade", "Territorial Defence"],
         RU_FORCES: ["Wagner Group", "1st Guards Tank Army", "Akhmat", "76th Guards Air Assault "
                     "Division", "Storm-Z", "Border Service of the FSB"]}  # fmt: skip
# Sources beyond the seeded ten, so citations spread over a realistic number of outlets.
EXTRA_SOURCES = [("deepstate", "DeepState", "osint", "UA"),
                 ("geoconfirmed", "GeoConfirmed", "osint", None),
                 ("ukrainska-pravda", "Ukrainska Pravda", "media", "UA"),
                 ("kyiv-independent", "The Kyiv Independent", "media", "UA"),
                 ("tass", "TASS", "media", "RU"),
                 ("ria", "RIA Novosti", "media", "RU")]  # fmt: skip
SIDES = {"UA": ["ua-general-staff", "ua-president", "ua-commander-in-chief",
                "ua-emergency-service", "deepstate", "ukrainska-pravda", "kyiv-independent"],
         "RU": ["ru-mod", "belgorod-governor", "ru-milbloggers", "tass", "ria"],
         "": ["isw", "ap", "reuters", "geoconfirmed"]}  # fmt: skip


@dataclass(frozen=True)
class Place:
    id: int
    slug: str
    name: str
    kind: str
    country: str
    lon: float
    lat: float
    parent: str | None


@dataclass(frozen=True)
class Phase:
    place: Place
    spread: float
    start: float  # epoch seconds
    end: float
    mix: str
    rate: float  # events per day, relative


class Sampler:
    """Draws where and when an event happens: a phase by weight, then a point and an instant."""

    def __init__(self, places: dict[str, Place], until: date) -> None:
        end = datetime(until.year, until.month, until.day, tzinfo=UTC).timestamp()
        self.start, self.end = START.timestamp(), end
        self.phases: list[Phase] = []
        weights: list[float] = []
        for slug, spread, spans in FRONTS:
            for begin, finish, rate in spans:
                lo = datetime.fromisoformat(begin).replace(tzinfo=UTC).timestamp()
                hi = end if finish is None else datetime.fromisoformat(finish).replace(
                    tzinfo=UTC).timestamp()  # fmt: skip
                hi = min(hi, end)
                if hi <= lo:
                    continue
                mix = "incursion" if slug in INCURSION else "rear" if slug in REAR else "front"
                self.phases.append(Phase(places[slug], spread, lo, hi, mix, rate))
                weights.append(rate * (hi - lo) / DAY)
        self.cumulative = list(_accumulate(weights))

    def draw(self, rng: random.Random) -> tuple[Phase, float, float, float]:
        """A phase, a point (lon, lat) around its place and an instant inside it."""
        phase = self.phases[bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])]
        return (phase, *self._point(rng, phase), rng.uniform(phase.start, phase.end))

    @staticmethod
    def _point(rng: random.Random, phase: Phase) -> tuple[float, float]:
        place = phase.place
        lon = place.lon + rng.gauss(0, phase.spread) / math.cos(math.radians(place.lat))
        return lon, place.lat + rng.gauss(0, phase.spread)

    def stored(self, rng: random.Random, n: int) -> Iterator[tuple[Phase, float, float, float]]:
        """n draws in the order they are stored: in time, as a live feed writes them."""
        return self.chronological(rng, n)

    def chronological(
        self, rng: random.Random, n: int
    ) -> Iterator[tuple[Phase, float, float, float]]:
        """n draws in time order, as a live feed stores them (ids grow with time): each day
        gets its share of n from the phases active that day."""
        days = int((self.end - self.start) // DAY)
        active = []
        for d in range(days):
            noon = self.start + (d + 0.5) * DAY
            active.append([p for p in self.phases if p.start <= noon < p.end])
        rates = [sum(p.rate for p in phases) for phases in active]
        total, done, expected = sum(rates), 0, 0.0
        for d, phases in enumerate(active):
            expected += n * rates[d] / total
            count, done = round(expected) - done, round(expected)
            cumulative = list(_accumulate([p.rate for p in phases]))
            draws = []
            for _ in range(count):
                phase = phases[bisect.bisect(cumulative, rng.random() * cumulative[-1])]
                instant = self.start + (d + rng.random()) * DAY
                draws.append((phase, *self._point(rng, phase), instant))
            yield from sorted(draws, key=lambda draw: draw[3])


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _chooser(weights: Mapping[str, float]) -> tuple[list[str], list[float]]:
    return list(weights), list(_accumulate(list(weights.values())))


def _pick(rng: random.Random, table: tuple[list[str], list[float]]) -> str:
    keys, cumulative = table
    return keys[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


VERSION_GAP_HOURS = 9  # between two versions of a generated event (bench.history)
# How many versions events have: 75% one, then fewer and fewer up to five.
VERSION_SHARES = ((750, 1), (900, 2), (960, 3), (990, 4), (1000, 5))


def versions(event_id: int) -> int:
    """The event's number of versions, from its id alone (the rng's stream stays as it was)."""
    share = (event_id * 2654435761) % 1000
    return next(count for below, count in VERSION_SHARES if share < below)


def ewkb_point(lon: float, lat: float) -> bytes:
    """A little-endian EWKB point with SRID 4326: PostGIS's binary input format."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, lon, lat)


class Generator:
    """Event and citation rows, ready for COPY (column order in EVENT_COLUMNS, CITATION_COLUMNS)."""

    def __init__(
        self, places: dict[str, Place], sources: dict[str, int], sampler: "Sampler | Any"
    ) -> None:
        self.places, self.sources = places, sources
        self.sampler = sampler  # where and when (a Sampler, or bench.scatter's)
        self.mixes = {name: _chooser(mix) for name, mix in MIXES.items()}
        self.location, self.time = _chooser(LOCATION), _chooser(TIME)
        self.verification, self.stance = _chooser(VERIFICATION), _chooser(STANCES)

    def _ancestor(self, place: Place, kinds: set[str]) -> Place:
        while place.kind not in kinds and place.parent is not None:
            place = self.places[place.parent]
        return place

    def _where(
        self, rng: random.Random, phase: Phase, lon: float, lat: float
    ) -> tuple[str, Place, float, float]:
        """Location precision, the place the event is tied to, and the point reported."""
        precision = _pick(rng, self.location)
        place = phase.place
        if precision == "settlement":  # geocoded to a village: a 0.05° grid of points
            lon, lat = round(lon * 20) / 20, round(lat * 20) / 20
        elif precision == "district":
            lon, lat = round(lon * 4) / 4, round(lat * 4) / 4
            place = self._ancestor(place, {"district", "region", "country"})
        elif precision in ("region", "country"):
            place = self._ancestor(place, {precision})
            lon, lat = place.lon, place.lat
        return precision, place, round(lon, 6), round(lat, 6)

    def event(
        self, rng: random.Random, event_id: int, draw: tuple[Phase, float, float, float]
    ) -> tuple[tuple[Any, ...], str]:
        """An events row, and the side ("UA" or "RU") whose territory it happened on."""
        phase, lon, lat, instant = draw
        precision, place, lon, lat = self._where(rng, phase, lon, lat)
        kind = _pick(rng, self.mixes[phase.mix])
        occurred = datetime.fromtimestamp(int(instant), UTC)
        until = None
        if kind in ("battle", "ground_operation", "incursion") and rng.random() < 0.3:
            until = occurred + timedelta(days=rng.randint(1, 14))
        elif kind == "air_raid_alert":
            until = occurred + timedelta(minutes=rng.randint(15, 360))
        time_precision = _pick(rng, self.time)
        ua_side = phase.place.country == "UA"
        attacker = RU_FORCES if ua_side else UA_FORCES
        defender = UA_FORCES if ua_side else RU_FORCES
        actors = [attacker] if phase.mix == "rear" else [attacker, defender]
        if rng.random() < 0.3:
            actors.append(rng.choice(UNITS[rng.choice(actors)]))
        fatalities = None if rng.random() < 0.6 else int(rng.expovariate(0.4))
        name = phase.place.name
        title = TITLES[kind].format(name)
        km = rng.randint(1, 30)
        description = (
            f"{'Ukrainian' if ua_side else 'Russian'} sources report {kind.replace('_', ' ')} "
            f"about {km} km {rng.choice(['north', 'south', 'east', 'west'])} of {name} "
            f"on {occurred:%d %B %Y}."
            + (f" {fatalities} people were reported killed." if fatalities else "")
        )
        tags = [t for t, on in (("kursk-incursion", phase.mix == "incursion"),
                                ("civilian-casualties", bool(fatalities) and phase.mix == "rear"))
                if on]  # fmt: skip
        created = occurred + timedelta(hours=rng.randint(1, 72))
        version = versions(event_id)
        updated = created + timedelta(hours=VERSION_GAP_HOURS * (version - 1))
        deleted = updated if rng.random() < 0.002 else None
        row = (event_id, DATASET, f"bench-{event_id}", title, description, kind,
               SUB_TYPES.get(kind), actors, fatalities, occurred, until, time_precision,
               place.id, ewkb_point(lon, lat), precision, _pick(rng, self.verification), tags,
               version, created, updated, deleted)  # fmt: skip
        return row, "UA" if ua_side else "RU"

    def citations(
        self, rng: random.Random, event_id: int, occurred: datetime, side: str, first_id: int
    ) -> list[tuple[Any, ...]]:
        """1-3 citations: a source of the side that was hit, then others."""
        count = rng.choices((1, 2, 3), (45, 35, 20))[0]
        slugs = [rng.choice(SIDES[side])]
        while len(slugs) < count:
            slug = rng.choice(SIDES[rng.choice(("UA", "RU", ""))])
            if slug not in slugs:
                slugs.append(slug)
        rows = []
        for i, slug in enumerate(slugs):
            published = occurred + timedelta(minutes=rng.randint(10, 4 * 1440))
            url = f"https://example.org/{slug}/{event_id}-{i}"
            excerpt = "Paraphrase: the source reported the event." if rng.random() < 0.2 else None
            rows.append((first_id + i, event_id, self.sources[slug], url, published,
                         _pick(rng, self.stance), excerpt, published))  # fmt: skip
        return rows
