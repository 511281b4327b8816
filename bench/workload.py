"""The fixed, seeded workload: target-neutral queries per case, and each target's URL for them.

Boxes, windows, regions, places and circles are centred on events drawn from the generator's
own distribution (another seed), so they land where the data is, as map users do. The export
windows are cut from the loaded data so that each holds about 50 000 events.
"""

import argparse
import asyncio
import random
import urllib.parse
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench import generate
from bench.generate import dsn, read_places
from bench.scatter import ScatterSampler
from bench.synthetic import DAY, Sampler

UKRAINE = (22.0, 44.0, 40.5, 52.5)
EXPORT_ROWS = 50_000
# The cases of issue 7 (also run against tipg and the floors), then Frontline-only ones.
COMPARED = ("small", "medium", "large", "export")
# The same small, medium, large and export queries as known at a past instant (two days
# after each window ends, when its events exist and some are between versions), and one
# event's history.
AS_OF = ("small_as_of", "medium_as_of", "large_as_of", "export_as_of")
# The small and medium queries again, their box and window written as a CQL2 filter.
CQL = ("small_cql", "medium_cql")
# The small, medium and large pages again with `count=true` (numberMatched: one more query).
COUNT = ("small_count", "medium_count", "large_count")
CASES = (*COMPARED, "within", "place", "near", "csv", "ndjson", *AS_OF, "history", *CQL, *COUNT)
AS_OF_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class Query:
    """One request, independent of who answers it."""

    case: str
    start: datetime
    end: datetime
    bbox: tuple[float, float, float, float] | None = None
    limit: int | None = None  # None: every match (an export)
    within: str | None = None
    place: str | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    fmt: str = "geojson"
    as_of: datetime | None = None
    event_id: int | None = None  # the history of this event
    cql: bool = False  # bbox and window as a CQL2 `filter` instead of parameters
    count: bool = False  # ask for numberMatched


def long(q: Query) -> bool:
    """Exports (every match) take seconds: measured by count, not duration.

    Everything else, large pages and histories included, is measured by wrk after its warm-up:
    a fixed count of 16 answers, the first of them cold, made their percentiles noise."""
    return q.limit is None and q.event_id is None


def instant(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def frontline_path(q: Query) -> str:
    if q.event_id is not None:
        return f"/events/{q.event_id}/history"
    params = _box_and_window(q)
    for name in ("within", "place"):
        if getattr(q, name):
            params[name] = getattr(q, name)
    if q.near:
        params["near"] = f"{q.near[0]:.4f},{q.near[1]:.4f}"
        params["radius"] = q.radius_km
    if q.limit is not None:
        params["limit"] = q.limit
    if q.fmt != "geojson":
        params["f"] = q.fmt
    if q.as_of is not None:
        params["as_of"] = instant(q.as_of)
    if q.count:
        params["count"] = "true"
    path = "/events" if q.limit is not None else "/events/export"
    return f"{path}?{urllib.parse.urlencode(params)}"


def _box_and_window(q: Query) -> dict[str, Any]:
    """bbox and datetime, or the same as one CQL2 filter."""
    if q.cql:
        assert q.bbox is not None
        box = ",".join(f"{v:.4f}" for v in q.bbox)
        return {"filter": f"S_INTERSECTS(geometry, BBOX({box})) AND T_INTERSECTS(INTERVAL("
                          f"occurred_at, occurred_until), INTERVAL('{instant(q.start)}', "
                          f"'{instant(q.end)}'))"}  # fmt: skip
    params = {"bbox": ",".join(f"{v:.4f}" for v in q.bbox)} if q.bbox else {}
    return {**params, "datetime": f"{instant(q.start)}/{instant(q.end)}"}


def tipg_path(q: Query, collection: str = "public.bench_events") -> str:
    """tipg filters one datetime column, so the span test goes through CQL2 on the view."""
    span = (f"occurred_at <= TIMESTAMP('{instant(q.end)}') AND "
            f"occurred_end >= TIMESTAMP('{instant(q.start)}')")  # fmt: skip
    params: dict[str, Any] = {"filter": span, "filter-lang": "cql2-text",
                              "sortby": "occurred_at,id", "limit": q.limit or 100_000}  # fmt: skip
    if q.bbox:
        params["bbox"] = ",".join(f"{v:.4f}" for v in q.bbox)
    return f"/collections/{collection}/items?{urllib.parse.urlencode(params)}"


def box(lon: float, lat: float, half: float) -> tuple[float, float, float, float]:
    return (round(lon - half, 4), round(lat - half, 4), round(lon + half, 4), round(lat + half, 4))


def window(centre: float, half_days: float) -> tuple[datetime, datetime]:
    start = datetime.fromtimestamp(int(centre - half_days * DAY), UTC)
    return start, start + timedelta(days=2 * half_days)


async def export_windows(url: str, count: int, rng: random.Random) -> list[tuple[datetime, ...]]:
    """Time windows holding EXPORT_ROWS consecutive live events each (by occurrence)."""
    conn = await asyncpg.connect(dsn(url))
    try:
        total = await conn.fetchval("SELECT count(*) FROM events WHERE deleted_at IS NULL")
        rows = min(EXPORT_ROWS, total)
        at = "SELECT occurred_at FROM events WHERE deleted_at IS NULL ORDER BY occurred_at, id"
        windows: list[tuple[datetime, ...]] = []
        for _ in range(count):
            first = rng.randrange(0, total - rows + 1)
            start = await conn.fetchval(f"{at} OFFSET $1 LIMIT 1", first)
            end = await conn.fetchval(f"{at} OFFSET $1 LIMIT 1", first + rows - 1)
            windows.append((start, end))
        return windows
    finally:
        await conn.close()


def one_case(doc: str | None) -> tuple[argparse.Namespace, str, list[str]]:
    """For a tool that drives one case: its arguments (--events, --case, --seconds), the
    database loaded for them and the case's Frontline paths."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--case", default="small")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--output", default=None, help="results name in bench/results/")
    generate.add_distribution_argument(parser)
    args = parser.parse_args()
    url, _, cases = loaded(args.events, args.distribution)
    return args, url, [frontline_path(q) for q in cases[args.case]]


def loaded(
    n: int, distribution: str = "fronts"
) -> tuple[str, dict[str, Any], dict[str, list["Query"]]]:
    """The bench database of n events (loaded when missing), what was loaded, and every case's
    queries over it (centred on draws from the same distribution)."""
    url, data = generate.database(n, distribution=distribution)
    until = date.fromisoformat(data["until"])
    return url, data, asyncio.run(build(url, until, distribution=distribution))


async def build(
    url: str, until: date, seed: int = 11, per_case: int = 200, distribution: str = "fronts"
) -> dict[str, list[Query]]:
    """Every case's queries, the same for a given database and seed."""
    conn = await asyncpg.connect(dsn(url))
    try:
        places = await read_places(conn)
    finally:
        await conn.close()
    sampler = generate.DISTRIBUTIONS[distribution](places, until)
    rng = random.Random(seed)
    regions = {p.name for p in places.values() if p.kind == "region"}
    names = [p.name for p in places.values()]
    cases: dict[str, list[Query]] = {case: [] for case in CASES}
    for _ in range(per_case):
        phase, lon, lat, when = sampler.draw(rng)
        cases["small"].append(Query("small", *window(when, 15), box(lon, lat, 0.15), 1000))
        phase, lon, lat, when = sampler.draw(rng)
        cases["medium"].append(Query("medium", *window(when, 90), box(lon, lat, 1.0), 1000))
        first = rng.uniform(sampler.start, sampler.end - 365 * DAY)
        cases["large"].append(Query("large", *window(first + 182.5 * DAY, 182.5), UKRAINE, 10_000))
        phase, lon, lat, when = sampler.draw(rng)
        region = phase.place
        while region.name not in regions and region.parent is not None:
            region = places[region.parent]
        if region.name in regions:
            within = Query("within", *window(when, 15), limit=1000, within=region.name)
            cases["within"].append(within)
        # A name that two places share (Donetsk) is a 422 by design: ask for the slug then.
        place = phase.place.name if names.count(phase.place.name) == 1 else phase.place.slug
        cases["place"].append(Query("place", *window(when, 45), limit=1000, place=place))
        phase, lon, lat, when = sampler.draw(rng)
        radius = rng.choice((10, 15, 25))
        near = (round(lon, 4), round(lat, 4))
        circle = Query("near", *window(when, 45), limit=1000, near=near, radius_km=radius)
        cases["near"].append(circle)
    for start, end in await export_windows(url, max(4, per_case // 10), rng):
        for case, fmt in (("export", "geojson"), ("csv", "csv"), ("ndjson", "ndjson")):
            cases[case].append(Query(case, start, end, fmt=fmt))
    for case in AS_OF:
        live = case.removesuffix("_as_of")
        cases[case] = [replace(q, case=case, as_of=q.end + AS_OF_AFTER) for q in cases[live]]
    for case in CQL:
        plain = case.removesuffix("_cql")
        cases[case] = [replace(q, case=case, cql=True) for q in cases[plain]]
    for case in COUNT:
        plain = case.removesuffix("_count")
        cases[case] = [replace(q, case=case, count=True) for q in cases[plain]]
    last = await _max_event_id(url)
    cases["history"] = [Query("history", sampler_start(sampler), sampler_start(sampler),
                              fmt="history", event_id=rng.randint(1, last))
                        for _ in range(per_case)]  # fmt: skip
    return cases


def sampler_start(sampler: Sampler | ScatterSampler) -> datetime:
    return datetime.fromtimestamp(sampler.start, UTC)


async def _max_event_id(url: str) -> int:
    conn = await asyncpg.connect(dsn(url))
    try:
        return int(await conn.fetchval("SELECT max(id) FROM events"))
    finally:
        await conn.close()


# As known at $3: each event's latest revision recorded by then, from its JSON snapshot alone
# (the definition, not the validity columns the server reads).
KNOWN_THEN = """(
    SELECT k.event_id AS id, (k.s->>'deleted_at')::timestamptz AS deleted_at,
           ST_SetSRID(ST_GeomFromGeoJSON(k.s->'geometry'), 4326) AS geom,
           (k.s->>'occurred_at')::timestamptz AS occurred_at,
           CASE WHEN k.s->>'occurred_until' IS NULL OR k.s->>'occurred_until' = k.s->>'occurred_at'
                THEN tstzrange((k.s->>'occurred_at')::timestamptz,
                               (k.s->>'occurred_at')::timestamptz, '[]')
                ELSE tstzrange((k.s->>'occurred_at')::timestamptz,
                               (k.s->>'occurred_until')::timestamptz, '[)') END AS during
    FROM (SELECT DISTINCT ON (event_id) event_id, snapshot AS s FROM event_revisions
          WHERE changed_at <= $3 ORDER BY event_id, version DESC) k
)"""


async def expected_ids(conn: asyncpg.Connection, q: Query) -> list[int]:
    """The ids a query must return, by plain SQL written from the README's definitions."""
    if q.event_id is not None:
        sql = "SELECT version FROM event_revisions WHERE event_id = $1 ORDER BY version"
        return [row[0] for row in await conn.fetch(sql, q.event_id)]
    where = ["e.deleted_at IS NULL", "e.during && tstzrange($1, $2, '[]')"]
    args: list[Any] = [q.start, q.end]
    if q.as_of is not None:
        args.append(q.as_of)

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if q.bbox:
        corners = ", ".join(arg(v) for v in q.bbox)
        where.append(f"e.geom && ST_MakeEnvelope({corners}, 4326)")
    if q.within:
        where.append("ST_Intersects(e.geom, (SELECT boundary FROM places WHERE kind = 'region'"
                     f" AND name = {arg(q.within)}))")  # fmt: skip
    if q.place:
        where.append("e.place_id IN (WITH RECURSIVE d AS (SELECT id FROM places WHERE "
                     f"{arg(q.place)} IN (name, slug) UNION ALL SELECT c.id FROM places c "
                     "JOIN d ON c.parent_id = d.id) SELECT id FROM d)")  # fmt: skip
    if q.near and q.radius_km:
        point = f"ST_MakePoint({arg(q.near[0])}, {arg(q.near[1])})::geography"
        where.append(f"ST_DWithin(e.geom::geography, {point}, {arg(q.radius_km * 1000.0)})")
    limit = "" if q.limit is None else f" LIMIT {int(q.limit)}"
    table = "events" if q.as_of is None else KNOWN_THEN
    sql = f"SELECT e.id FROM {table} e WHERE {' AND '.join(where)} ORDER BY e.occurred_at, e.id"
    return [row[0] for row in await conn.fetch(sql + limit, *args)]
