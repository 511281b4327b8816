"""A second distribution of the benchmark's events, unlike the first where the planner looks.

    .venv/bin/python -m bench.compare --events 1000000 --distribution scatter

The first (bench.synthetic's Sampler, "fronts") puts every event near one of the seeded
front-line places, in phases that follow the war, and stores them in time order. This one:
- 40% of the events uniform over the whole area (22–45° E, 44–56° N) and the whole period;
- 60% in 60 clusters at random points of the area, not at the seeded places: each with a
  weight from a Pareto law (a few heavy clusters, many light ones), a spread of 0.02–0.4°,
  one active period (30 days to 3 years, anywhere in the period) and 1–4 bursts at 6× its
  rate;
- stored in random order: ids and the table's physical order say nothing about time.
Each event is tied to the nearest seeded place (its name, country and kind of fighting).
Seeded, like the first: the same seed gives the same events.
"""

import bisect
import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime

from bench.synthetic import DAY, FRONTS, INCURSION, REAR, START, Phase, Place, _accumulate

AREA = (22.0, 44.0, 45.0, 56.0)  # west, south, east, north
BACKGROUND = 0.4
CLUSTERS = 60
BURST_RATE = 6.0
SEED = 5  # of the clusters; the events' own seed is the load's


class ScatterSampler:
    """Draws where and when an event happens, like ``synthetic.Sampler``, with ``stored``
    giving n draws in the order they are stored (random)."""

    def __init__(self, places: dict[str, Place], until: date) -> None:
        self.start = START.timestamp()
        self.end = datetime(until.year, until.month, until.day, tzinfo=UTC).timestamp()
        self.places = [places[slug] for slug, _, _ in FRONTS]  # the seeded places of both
        rng = random.Random(SEED)
        self.clusters: list[tuple[Phase, float, float, list[tuple[float, float]]]] = []
        weights: list[float] = []
        for _ in range(CLUSTERS):
            lon, lat = rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3])
            length = rng.uniform(30, 3 * 365) * DAY
            begin = rng.uniform(self.start, max(self.start, self.end - length))
            phase = self._phase(lon, lat, rng.uniform(0.02, 0.4), begin, begin + length)
            bursts = []
            for _ in range(rng.randint(1, 4)):
                at = rng.uniform(phase.start, phase.end)
                bursts.append((at, min(phase.end, at + rng.uniform(3, 30) * DAY)))
            self.clusters.append((phase, lon, lat, bursts))
            weights.append(rng.paretovariate(1.2))
        self.cumulative = list(_accumulate(weights))

    def _phase(self, lon: float, lat: float, spread: float, start: float, end: float) -> Phase:
        near = min(self.places, key=lambda p: (p.lon - lon) ** 2 + (p.lat - lat) ** 2)
        mix = "incursion" if near.slug in INCURSION else "rear" if near.slug in REAR else "front"
        return Phase(near, spread, start, end, mix, 1.0)

    def draw(self, rng: random.Random) -> tuple[Phase, float, float, float]:
        """A phase (its place the nearest seeded one), a point and an instant."""
        if rng.random() < BACKGROUND:
            lon, lat = rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3])
            when = rng.uniform(self.start, self.end)
            return self._phase(lon, lat, 0.0, self.start, self.end), lon, lat, when
        at = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        phase, lon, lat, bursts = self.clusters[at]
        when = self._instant(rng, phase, bursts)
        lon += rng.gauss(0, phase.spread) / math.cos(math.radians(lat))
        return phase, lon, lat + rng.gauss(0, phase.spread), when

    @staticmethod
    def _instant(rng: random.Random, phase: Phase, bursts: list[tuple[float, float]]) -> float:
        """Uniform over the active period, plus the bursts at BURST_RATE times the rate."""
        spans = [(phase.start, phase.end, 1.0)] + [(a, b, BURST_RATE) for a, b in bursts]
        weights = list(_accumulate([(b - a) * rate for a, b, rate in spans]))
        a, b, _ = spans[bisect.bisect(weights, rng.random() * weights[-1])]
        return rng.uniform(a, b)

    def stored(self, rng: random.Random, n: int) -> Iterator[tuple[Phase, float, float, float]]:
        """n draws in random order: a backfilled archive, not a live feed."""
        yield from (self.draw(rng) for _ in range(n))
