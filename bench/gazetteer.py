"""Gazetteer search at scale: 100 000 places, one query at a time, latency of /places/search.

    .venv/bin/python -m bench.gazetteer [--places 100000] [--queries 2000]

Generates a synthetic gazetteer of plausible Ukrainian/Russian village names (Latin and
Cyrillic spellings, points scattered over the border and front-line area), loads it through
`frontline places import` (a GeoNames-format file), then sends a fixed, seeded mix of exact,
Cyrillic, prefix and misspelt queries to a served Frontline and records the latency.
Results: bench/results/gazetteer.{json,md}.
"""

import argparse
import asyncio
import random
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import text

from app.ingest.places import import_places
from app.ingest.seed import seed
from app.settings import Settings
from app.store.engine import make_engine
from bench.common import bench_database, machine, percentiles, served, write_results

# Name prefixes with their share of places, as in GeoNames cities500 for this area
# (Novo- 3.7%, Velyk- 1.1%, Mal- 0.8%, Verkh- 0.6%…); most names have none.
PREFIXES = {"": 86.5, "Novo": 4.0, "Staro": 1.0, "Velyka ": 2.5, "Mala ": 2.0, "Verkhnia ": 1.5,
            "Nyzhnia ": 1.0, "Bilo": 1.5}  # fmt: skip
ROOTS = ["pokrov", "ivan", "mykhail", "demyd", "sud", "petr", "olen", "hrushev", "kamian",
         "lozov", "berez", "dubov", "sokil", "vyshn", "kozach", "bohdan", "andri", "yasnoh",
         "krasnop", "zelen", "chervon", "vasyl", "hryhor", "stepan", "zarich", "lypov",
         "topol", "vilkh", "orikh", "kalyn", "shevchen", "mar'in", "novosel", "kyrylo"]  # fmt: skip
SUFFIXES = ["ivka", "ove", "ka", "ske", "ne", "yne", "ivske", "ychi", "any", "ivtsi"]
TO_CYRILLIC = [("shch", "щ"), ("kh", "х"), ("zh", "ж"), ("ch", "ч"), ("sh", "ш"), ("ts", "ц"),
               ("ia", "я"), ("iu", "ю"), ("ie", "є"), ("yi", "ї"), ("'", "ь")]  # fmt: skip
LETTERS = {"a": "а", "b": "б", "v": "в", "h": "г", "g": "ґ", "d": "д", "e": "е", "z": "з",
           "y": "и", "i": "і", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п",
           "r": "р", "s": "с", "t": "т", "u": "у", "f": "ф"}  # fmt: skip
WEST, SOUTH, EAST, NORTH = 30.0, 46.0, 40.5, 53.0


def cyrillic(name: str) -> str:
    text = name.lower()
    for latin, cyr in TO_CYRILLIC:
        text = text.replace(latin, cyr)
    return "".join(LETTERS.get(ch, ch) for ch in text).title()


# Real gazetteers repeat a few names often: in GeoNames cities500 for this area the most
# common one (Vasylivka) names 0.28% of all places; COMMON_SHARE spreads 3% over twelve.
COMMON_SHARE = 0.03
COMMON = ["Ivanivka", "Mykolaivka", "Novoselivka", "Petrivka", "Oleksandrivka", "Andriivka",
          "Vasylivka", "Stepanivka", "Pokrovske", "Zelenyi Hai", "Myrne", "Kalynivka"]  # fmt: skip
SYLLABLES = ["bo", "da", "ly", "ro", "ve", "ki", "ma", "no", "se", "ta", "hu", "zo", "pi",
             "dy", "le", "ka", "mo", "ra", "sy", "tu", "vo", "ne", "ho", "za"]  # fmt: skip


def place_names(count: int, rng: random.Random) -> list[str]:
    """Names built like real ones: prefix + root + suffix, with a share of very common names."""
    names = []
    for _ in range(count):
        if rng.random() < COMMON_SHARE:
            names.append(rng.choice(COMMON))
            continue
        root = rng.choice(ROOTS) if rng.random() < 0.5 else "".join(rng.choices(SYLLABLES, k=2))
        prefix = rng.choices(list(PREFIXES), weights=list(PREFIXES.values()))[0]
        names.append((prefix + root + rng.choice(SUFFIXES)).strip().title())
    return names


def geonames_file(path: Path, names: list[str], rng: random.Random) -> None:
    with path.open("w", encoding="utf-8") as out:
        for index, name in enumerate(names):
            gid = 900_000_000 + index
            lat, lon = rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)
            alternates = f"{name},{cyrillic(name)}"
            population = rng.choice([0, 0, 0, rng.randint(100, 50_000)])
            fields = [str(gid), name, name, alternates, f"{lat:.5f}", f"{lon:.5f}", "P", "PPL",
                      "UA", "", "", "", "", "", str(population), "", "", "Europe/Kyiv",
                      "2023-01-01"]  # fmt: skip
            out.write("\t".join(fields) + "\n")


def misspell(name: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1 :] if rng.random() < 0.5 else name[:i] + name[i] + name[i:]


def workload(names: list[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) pairs: exact Latin, Cyrillic, a prefix, a typo — in fixed proportions."""
    queries = []
    for _ in range(count):
        name = rng.choice(names)
        kind = rng.choices(["exact", "cyrillic", "prefix", "typo"], [4, 2, 1, 3])[0]
        text = {"exact": name, "cyrillic": cyrillic(name), "prefix": name[: max(3, len(name) // 2)],
                "typo": misspell(name, rng)}[kind]  # fmt: skip
        queries.append((kind, text))
    return queries


async def load(url: str, names: list[str], rng: random.Random) -> dict[str, float]:
    engine = make_engine(url, Settings.model_validate({"DATABASE_URL": url}))
    try:
        await seed(engine)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "synthetic-cities.txt"
            geonames_file(path, names, rng)
            started = time.perf_counter()
            counts = await import_places(engine, path)
            seconds = time.perf_counter() - started
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE places"))
            await conn.execute(text("ANALYZE place_names"))
            total = (await conn.execute(text("SELECT count(*) FROM places"))).scalar_one()
            names = (await conn.execute(text("SELECT count(*) FROM place_names"))).scalar_one()
    finally:
        await engine.dispose()
    return {"import_seconds": round(seconds, 2), "imported": counts.places,
            "places": total, "spellings": names}  # fmt: skip


def run_queries(base: str, queries: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    by_kind: dict[str, list[float]] = {}
    for kind, query in queries:
        url = f"{base}/places/search?" + urllib.parse.urlencode({"q": query, "limit": 10})
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            response.read()
        by_kind.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    every = [ms for samples in by_kind.values() for ms in samples]
    return {"all": percentiles(every), **{k: percentiles(v) for k, v in sorted(by_kind.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--places", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=20240806)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    url = bench_database(f"gazetteer_{args.places}")
    names = place_names(args.places, rng)
    loaded = asyncio.run(load(url, names, rng))
    queries = workload(names, args.queries, rng)
    with served(url) as (base, _process):
        run_queries(base, queries[:200])  # warm the caches and the pool
        latency = run_queries(base, queries)
    command = f"python -m bench.gazetteer --places {args.places} --queries {args.queries}"
    doc = {"benchmark": "gazetteer-search", "machine": machine(), "load": loaded,
           "queries": args.queries, "client": "1 sequential client, urllib, keep-alive off",
           "latency": latency, "target": "p95 < 20 ms", "command": command}  # fmt: skip
    rows = "\n".join(
        f"| {kind} | {s['n']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} |"
        for kind, s in latency.items()
    )
    title = f"Gazetteer search, {loaded['places']} places / {loaded['spellings']} spellings"
    header = "| queries | n | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|\n"
    table = f"{title}\n\n{header}{rows}"
    write_results("gazetteer", doc, table)


if __name__ == "__main__":
    main()
