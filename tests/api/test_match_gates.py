"""The matcher against an oracle written apart from it: for random events of every precision,
the candidates PostGIS returns are exactly the pairs that pass the gates as computed here
(distance on the WGS 84 ellipsoid by pyproj, the time windows by the calendar, a region's
boundary by Shapely), with the score the README states."""

import asyncio
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pyproj import Geod
from shapely.geometry import Point, shape

from app.domain.bodies import EventCreate
from app.domain.vocab import Scope
from app.ingest.seed import SEEDS_DIR, load_json, parents_first, read_places, upsert_place
from app.services import matching, writes
from app.services.keys import Principal
from app.services.matching import MatchOptions
from app.store.engine import make_engine
from tests.conftest import settings_for

GEOD = Geod(ellps="WGS84")
RADIUS_M = {"exact": 2_000, "near": 5_000, "settlement": 10_000, "district": 40_000,
            "region": 250_000, "country": 1_000_000}  # fmt: skip
PAD = {"minute": timedelta(hours=1), "hour": timedelta(hours=3)}
FAMILY = {"shelling": "strike", "airstrike": "strike", "battle": "ground", "incursion": "ground"}
TYPES = ["shelling", "airstrike", "battle", "incursion", "protest"]
# Mostly fine events close together (so many pairs are near the limits), some coarse ones.
TIME_WEIGHTS = {"minute": 4, "hour": 3, "day": 4, "week": 1, "month": 1, "year": 1}
PLACE_WEIGHTS = {"exact": 4, "near": 3, "settlement": 4, "district": 2, "region": 1,
                 "country": 1}  # fmt: skip
EVENTS = 160
START = datetime(2025, 3, 1, tzinfo=UTC)
# The draw straddles the Sumy/Kursk border: a district or region event may be tied to either
# oblast (its boundary then decides), sometimes with its point far outside its radius.
BOUNDARIES = {f["properties"]["slug"]: shape(f["geometry"])
              for f in load_json(SEEDS_DIR / "regions.geojson")["features"]}  # fmt: skip
OBLASTS = ["sumy-oblast", "kursk-oblast"]


def _draw(rng: random.Random, n: int) -> dict[str, Any]:
    time = rng.choices(list(TIME_WEIGHTS), list(TIME_WEIGHTS.values()))[0]
    where = rng.choices(list(PLACE_WEIGHTS), list(PLACE_WEIGHTS.values()))[0]
    at = START + timedelta(minutes=rng.randrange(0, 60 * 24 * 20))  # three weeks
    until = at + timedelta(hours=rng.choice([1, 5, 30])) if rng.random() < 0.25 else None
    lon, lat = 35.2 + rng.uniform(-0.25, 0.25), 51.2 + rng.uniform(-0.15, 0.15)  # ~35 × 33 km
    place = None
    if where in ("district", "region") and rng.random() < 0.6:
        place = rng.choice(OBLASTS)
        if rng.random() < 0.3:  # 300–400 km away: found by its place, not by its point
            lat += rng.choice([-1, 1]) * rng.uniform(2.7, 3.6)
    elif where in ("district", "region", "country") and rng.random() < 0.4:
        lat += rng.choice([-1, 1]) * rng.uniform(0.2, 2.0)  # 20–220 km: near its radius
    body = {"title": "Strike", "event_type": rng.choice(TYPES), "occurred_at": at.isoformat(),
            "time_precision": time, "location_precision": where, "place": place,
            "geometry": {"type": "Point", "coordinates": [round(lon, 5), round(lat, 5)]},
            "dataset": rng.choice(["left", "right"]), "external_id": str(n)}  # fmt: skip
    if until is not None:
        body["occurred_until"] = until.isoformat()
    return body


def _floor(at: datetime, unit: str) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    return day


def _next(at: datetime, unit: str) -> datetime:
    if unit == "day":
        return at + timedelta(days=1)
    if unit == "week":
        return at + timedelta(days=7)
    if unit == "month":
        return at.replace(year=at.year + at.month // 12, month=at.month % 12 + 1)
    return at.replace(year=at.year + 1)


def _window(e: dict[str, Any]) -> tuple[datetime, datetime]:
    """What the event may mean in time: half-open [start, end)."""
    start, end = e["start"], e["end"]
    if e["time_precision"] in PAD:
        return start - PAD[e["time_precision"]], end + PAD[e["time_precision"]]
    unit = e["time_precision"]
    last = max(start, end - timedelta(microseconds=1)) if end > start else start
    return _floor(start, unit), _next(_floor(last, unit), unit)


def _span(e: dict[str, Any]) -> tuple[datetime, datetime, bool]:
    """(start, end, closed): an instant is the closed range [t, t]."""
    if e["time_precision"] in PAD:
        return e["start"], e["end"], e["end"] == e["start"]
    return *_window({**e, "time_precision": "day"}), False  # the days its dates name


def _overlap(a: tuple[datetime, datetime, bool], b: tuple[datetime, datetime, bool]) -> bool:
    def contains(r: tuple[datetime, datetime, bool], t: datetime) -> bool:
        return r[0] <= t <= r[1] if r[2] else r[0] <= t < r[1]

    if a[2] and b[2]:
        return a[0] == b[0]
    if a[2] or b[2]:
        point, other = (a, b) if a[2] else (b, a)
        return contains(other, point[0])
    return a[0] < b[1] and b[0] < a[1]


def _expected(a: dict[str, Any], b: dict[str, Any]) -> tuple[float, float] | None:
    """(score, distance) when b is a candidate of a, by the README's rules; None if not."""
    if a["dataset"] == b["dataset"]:
        return None
    wa, wb = _window(a), _window(b)
    if not (wa[0] < wb[1] and wb[0] < wa[1]):
        return None
    _, _, metres = GEOD.inv(a["lon"], a["lat"], b["lon"], b["lat"])
    limit = max(RADIUS_M[a["location_precision"]], RADIUS_M[b["location_precision"]])
    inside = _inside(a, b)
    if not (metres <= limit if inside is None else inside):
        return None
    sa, sb = _span(a), _span(b)
    if _overlap(sa, sb):
        gap = 0.0
    else:
        gap = max((sb[0] - sa[1]).total_seconds(), (sa[0] - sb[1]).total_seconds())
    slack = ((wa[1] - wa[0]) - (sa[1] - sa[0]) + (wb[1] - wb[0]) - (sb[1] - sb[0])) / 2
    slack_s = max(slack.total_seconds(), 1)
    timed = all(e["time_precision"] in PAD and e["end"] > e["start"] for e in (a, b))
    if timed:  # two timed spans: both ends must agree
        ends = (abs((sa[0] - sb[0]).total_seconds()) + abs((sa[1] - sb[1]).total_seconds())) / 2
        time = max(0.0, 1 - ends / slack_s)
    else:
        time = 1.0 if gap == 0 else max(0.0, 1 - gap / slack_s)
    same = a["event_type"] == b["event_type"]
    family = FAMILY.get(a["event_type"], "a") == FAMILY.get(b["event_type"], "b")
    kind = 1.0 if same else 0.5 if family else 0.0
    space = max(0.0, 1 - metres / limit)
    place = 1.0 if a["place"] is not None and a["place"] == b["place"] else 0.0
    score = 0.30 * space + 0.25 * time + 0.20 * kind + 0.10 * place + 0.15 * 1.0
    return score, metres


def _inside(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    """Whether the wider of the two holds the other's point, when the wider has a boundary."""
    ra, rb = RADIUS_M[a["location_precision"]], RADIUS_M[b["location_precision"]]
    if ra >= rb and a["place"] is not None:
        return bool(BOUNDARIES[a["place"]].covers(Point(b["lon"], b["lat"])))
    if rb >= ra and b["place"] is not None:
        return bool(BOUNDARIES[b["place"]].covers(Point(a["lon"], a["lat"])))
    return None


def _near_limit(a: dict[str, Any], b: dict[str, Any]) -> bool:
    _, _, metres = GEOD.inv(a["lon"], a["lat"], b["lon"], b["lat"])
    limit = max(RADIUS_M[a["location_precision"]], RADIUS_M[b["location_precision"]])
    return abs(metres - limit) < 1


def test_candidates_are_exactly_the_pairs_the_gates_let_through(fresh_url: str) -> None:
    rng = random.Random(20250318)
    bodies = [_draw(rng, n) for n in range(EVENTS)]
    who = Principal("oracle", frozenset({Scope.WRITE}))

    async def run() -> tuple[list[dict[str, Any]], dict[int, list[Any]]]:
        engine = make_engine(fresh_url, settings_for(fresh_url))
        try:
            async with engine.begin() as conn:  # the gazetteer's places, not its events
                for place in parents_first(read_places(SEEDS_DIR)):
                    await upsert_place(conn, place)
            events = []
            for body in bodies:
                done = await writes.create_event(engine, EventCreate.model_validate(body), who)
                at = datetime.fromisoformat(body["occurred_at"])
                until = datetime.fromisoformat(body.get("occurred_until") or body["occurred_at"])
                lon, lat = body["geometry"]["coordinates"]
                events.append({**body, "id": done.id, "start": at, "end": until,
                               "lon": lon, "lat": lat})  # fmt: skip
            options = MatchOptions(min_score=0, limit=100)
            found = {e["id"]: await matching.event_matches(engine, e["id"], options)
                     for e in events}  # fmt: skip
            return events, found
        finally:
            await engine.dispose()

    events, found = asyncio.run(run())
    pairs = by_place = 0
    for a in events:
        expected = {b["id"]: hit for b in events if b is not a and (hit := _expected(a, b))}
        got = {row.candidate_id: row for row in found[a["id"]]}
        assert len(got) == len(found[a["id"]]), a  # each candidate once (one probe finds it)
        # A pair within a metre of its distance limit may fall either way (two libraries).
        borderline = {b["id"] for b in events if b is not a and _near_limit(a, b)}
        assert set(got) - borderline == set(expected) - borderline, a
        for candidate_id, (score, metres) in expected.items():
            if candidate_id in got:
                row = got[candidate_id]
                assert row.distance_m == pytest.approx(metres, abs=1)
                b = next(e for e in events if e["id"] == candidate_id)
                assert row.score == pytest.approx(score, abs=0.002), (a["id"], b["id"])
        pairs += len(expected)
        by_place += sum(1 for _, metres in expected.values() if metres > 250_000)
    assert pairs > 200  # the draw makes enough pairs to mean something
    assert by_place > 5  # and some that only a region's boundary lets through
