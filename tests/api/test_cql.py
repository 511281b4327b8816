"""CQL2 `filter` (OGC API – Features Part 3) against real PostGIS.

The oracle is the `cql2` library's own evaluator (`Expr.matches`, written in Rust, sharing
nothing with Frontline's translation to SQL) run over every Feature the server holds:
random expressions must select exactly the Features it selects. QGIS's own filters (from
tests/src/python/test_provider_oapif.py in qgis/QGIS, testCQL2TextFiltering) are replayed
as QGIS URL-encodes them.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import cql2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.vocab import EventType, Verification, values
from app.store import devdb
from tests.conftest import client_for, scratch_database
from tests.factories import ACTORS, insert_events, random_events

ITEMS = "/collections/events/items"


@pytest.fixture(scope="module")
def client(cluster: devdb.Cluster) -> Iterator[TestClient]:
    load = partial(insert_events, rows=random_events(300, seed=11))
    with scratch_database(cluster, "cql", load) as (url, _), client_for(url) as c:
        yield c


class Features(list[dict[str, Any]]):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<{len(self)} features>"


@pytest.fixture(scope="module")
def features(client: TestClient) -> Features:
    answer = client.get("/events", params={"limit": 10000})
    assert answer.status_code == 200
    return Features(answer.json()["features"])


def ids(client: TestClient, expression: str, **params: Any) -> list[int]:
    answer = client.get("/events", params={"filter": expression, "limit": 10000, **params})
    assert answer.status_code == 200, (expression, answer.text)
    return [f["id"] for f in answer.json()["features"]]


def oracle(features: Features, expression: str) -> list[int]:
    expr = cql2.parse_text(expression)
    return [f["id"] for f in features if expr.matches(f)]


def instant(value: datetime) -> str:
    return value.strftime("TIMESTAMP('%Y-%m-%dT%H:%M:%SZ')")


START = datetime(2022, 2, 24, tzinfo=UTC)
instants = st.integers(0, 3 * 365 * 24).map(lambda h: START + timedelta(hours=h, seconds=17))
numbers = st.sampled_from([0, 1, 2, 5, 19, 20])


def quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Leaves over properties every generated event has (a null would need SQL's three-valued
# logic under NOT, where the oracle uses two values; nullable ones are tested by example).
comparison = st.one_of(
    st.tuples(st.sampled_from(["=", "<>"]), st.sampled_from(values(EventType))).map(
        lambda t: f"event_type {t[0]} {quoted(t[1])}"
    ),
    st.tuples(st.sampled_from(["<", "<=", ">", ">="]), instants).map(
        lambda t: f"occurred_at {t[0]} {instant(t[1])}"
    ),
    st.tuples(st.sampled_from(["=", "<", ">="]), numbers).map(
        lambda t: f"source_count {t[0]} {t[1]}"
    ),
    st.lists(st.sampled_from(values(Verification)), min_size=1, max_size=3).map(
        lambda v: f"verification IN ({', '.join(quoted(x) for x in v)})"
    ),
    st.sampled_from(["Event 1%", "%7", "Event _", "%2_"]).map(lambda p: f"title LIKE {quoted(p)}"),
    st.sampled_from(["event 1%", "EVENT %3"]).map(
        lambda p: f"CASEI(title) LIKE CASEI({quoted(p)})"
    ),
    st.tuples(numbers, numbers).map(lambda t: f"source_count BETWEEN {min(t)} AND {max(t)}"),
    st.tuples(st.floats(29, 41), st.floats(45, 54), st.floats(0.2, 6), st.floats(0.2, 4)).map(
        lambda b: (
            f"S_INTERSECTS(geometry, BBOX({b[0]:.3f},{b[1]:.3f},"
            f"{b[0] + b[2]:.3f},{b[1] + b[3]:.3f}))"
        )
    ),
    st.tuples(st.floats(29, 41), st.floats(45, 54), st.floats(0.5, 5)).map(
        lambda t: (
            f"S_WITHIN(geometry, POLYGON(({t[0]:.2f} {t[1]:.2f}, {t[0] + t[2]:.2f} "
            f"{t[1]:.2f}, {t[0]:.2f} {t[1] + t[2]:.2f}, {t[0]:.2f} {t[1]:.2f})))"
        )
    ),
    st.tuples(
        st.sampled_from(["A_CONTAINS", "A_OVERLAPS", "A_CONTAINEDBY", "A_EQUALS"]),
        st.lists(st.sampled_from(ACTORS), min_size=1, max_size=3, unique=True),
    ).map(lambda t: f"{t[0]}(actors, ({', '.join(quoted(a) for a in t[1])}))"),
    st.tuples(st.sampled_from(["T_BEFORE", "T_AFTER"]), instants).map(
        lambda t: f"{t[0]}(occurred_at, {instant(t[1])})"
    ),
)
expressions = st.recursive(
    comparison,
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["AND", "OR"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"
        ),
        inner.map(lambda e: f"NOT ({e})"),
    ),
    max_leaves=4,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(expression=expressions)
def test_random_filters_select_what_the_cql2_evaluator_selects(
    client: TestClient, features: Features, expression: str
) -> None:
    assert ids(client, expression) == oracle(features, expression)


def test_the_same_expression_in_cql2_json_selects_the_same(client: TestClient) -> None:
    text = "fatalities >= 5 AND S_INTERSECTS(geometry, BBOX(30, 46, 35, 50))"
    as_json = json.dumps(cql2.parse_text(text).to_json())
    assert ids(client, as_json, **{"filter-lang": "cql2-json"}) == ids(client, text)
    assert ids(client, text)  # not vacuous


def test_nullable_properties_and_is_null(client: TestClient, features: Features) -> None:
    props = {f["id"]: f["properties"] for f in features}
    unknown = [i for i, p in props.items() if p["fatalities"] is None]
    assert ids(client, "fatalities IS NULL") == unknown and unknown
    assert ids(client, "NOT (fatalities IS NULL)") == [i for i in props if i not in unknown]
    assert ids(client, "fatalities > 4") == [
        i for i, p in props.items() if p["fatalities"] is not None and p["fatalities"] > 4
    ]
    spans = [i for i, p in props.items() if p.get("occurred_until") is None]
    assert ids(client, "occurred_until IS NULL") == spans


def _span(props: dict[str, Any]) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(props["occurred_at"])
    until = props.get("occurred_until")
    return start, datetime.fromisoformat(until) if until else start


def test_temporal_functions_on_the_event_span(client: TestClient, features: Features) -> None:
    """The span is INTERVAL(occurred_at, occurred_until); T_INTERSECTS reads it half-open,
    as `datetime` does; the others follow CQL2's table on (start, end)."""
    lo, hi = datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 3, 1, tzinfo=UTC)
    window = "INTERVAL('2023-01-01T00:00:00Z', '2023-03-01T00:00:00Z')"
    span = "INTERVAL(occurred_at, occurred_until)"
    spans = {f["id"]: _span(f["properties"]) for f in features}

    def where(test: Any) -> list[int]:
        return [i for i, (s, e) in spans.items() if test(s, e)]

    half_open = where(lambda s, e: (s <= hi and e > lo) if e > s else lo <= s <= hi)
    assert ids(client, f"T_INTERSECTS({span}, {window})") == half_open and half_open
    params = {"datetime": "2023-01-01T00:00:00Z/2023-03-01T00:00:00Z", "limit": 10000}
    plain = [f["id"] for f in client.get("/events", params=params).json()["features"]]
    assert half_open == plain  # the same rule as the datetime parameter
    assert ids(client, f"T_DISJOINT({span}, {window})") == [i for i in spans if i not in half_open]
    assert ids(client, f"T_DURING({span}, {window})") == where(lambda s, e: s > lo and e < hi)
    assert ids(client, f"T_BEFORE({span}, {window})") == where(lambda s, e: e < lo)
    assert ids(client, f"T_AFTER({span}, {window})") == where(lambda s, e: s > hi)
    assert ids(client, f"T_CONTAINS({window}, {span})") == where(lambda s, e: s > lo and e < hi)
    assert ids(client, f"T_OVERLAPS({span}, {window})") == where(lambda s, e: s < lo < e < hi)


# QGIS 3.34+ (qgsoapifcql2textexpressioncompiler.cpp) double-quotes names that are not all
# letters and digits, and sends its filter URL-encoded with filter-lang=cql2-text.
QGIS_FILTERS = [
    ("((\"event_type\" = 'shelling') AND (\"fatalities\" >= 1))",
     lambda p: p["event_type"] == "shelling" and (p["fatalities"] or 0) >= 1),
    ("\"event_type\" IN ('shelling','battle')",
     lambda p: p["event_type"] in ("shelling", "battle")),
    ("\"fatalities\" BETWEEN 1 AND 5",
     lambda p: p["fatalities"] is not None and 1 <= p["fatalities"] <= 5),
    ("(\"sub_event_type\" IS NULL)", lambda p: p.get("sub_event_type") is None),
    ("(CASEI(title) LIKE CASEI('event 1%'))", lambda p: p["title"].lower().startswith("event 1")),
    ("(\"occurred_at\" >= TIMESTAMP('2023-04-19T12:34:56.000Z'))",
     lambda p: p["occurred_at"] >= "2023-04-19T12:34:56"),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "expected"), QGIS_FILTERS)
def test_filters_as_qgis_sends_them(
    client: TestClient, features: Features, expression: str, expected: Any
) -> None:
    answer = client.get(
        ITEMS, params={"limit": 1000, "filter": expression, "filter-lang": "cql2-text"}
    )
    assert answer.status_code == 200, answer.text
    got = [f["id"] for f in answer.json()["features"]]
    assert got == [f["id"] for f in features if expected(f["properties"])]


def test_filter_ands_with_the_other_parameters_and_pages(
    client: TestClient, features: Features
) -> None:
    expression = "event_type <> 'shelling'"
    box = "30,46,36,50"
    everything = ids(client, expression, bbox=box)
    assert everything == oracle(
        features, f"{expression} AND S_INTERSECTS(geometry, BBOX(30,46,36,50))"
    )
    paged, url = [], f"/events?filter={expression}&bbox={box}&limit=7"
    while url:
        page = client.get(url).json()
        paged += [f["id"] for f in page["features"]]
        url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    assert paged == everything and len(everything) > 7


def test_stats_and_exports_take_the_filter(client: TestClient, features: Features) -> None:
    expression = "fatalities >= 5"
    expected = [f["id"] for f in features if (f["properties"]["fatalities"] or 0) >= 5]
    export = client.get("/events/export", params={"filter": expression, "f": "ndjson"})
    assert export.status_code == 200, export.text
    assert [json.loads(line)["id"] for line in export.text.splitlines()] == expected
    timeline = client.get("/stats/timeline", params={"filter": expression, "interval": "month"})
    assert timeline.status_code == 200, timeline.text
    assert timeline.json()["total"] == len(expected)
    tile = client.get("/tiles/events/0/0/0.mvt", params={"filter": "fatalities >= 1000"})
    assert tile.status_code in (200, 204), tile.text


BAD = [
    ({"filter": "colour = 'red'"}, "filter", "unknown property 'colour'"),
    ({"filter": "fatalities = 'many'"}, "filter", "compares a number with a string"),
    ({"filter": "fatalities >"}, "filter", "not valid cql2-text"),
    ({"filter": "ACCENTI(title) = ACCENTI('x')"}, "filter", "unsupported operator 'accenti'"),
    ({"filter": "S_INTERSECTS(geometry, 'x')"}, "filter", "is a string, not a geometry"),
    ({"filter": "occurred_at > TIMESTAMP('2025-13-01T00:00:00Z')"}, "filter", "not an RFC 3339"),
    ({"filter": "title"}, "filter", "is not a condition"),
    ({"filter": "occurred_at BETWEEN TIMESTAMP('2025-01-01T00:00:00Z') AND "
                "TIMESTAMP('2025-02-01T00:00:00Z')"}, "filter", "is an instant, not a number"),
    ({"filter": "{\"op\": \"=\"", "filter-lang": "cql2-json"}, "filter", "not valid cql2-json"),
    ({"filter": "fatalities = 1", "filter-lang": "ecql"}, "filter-lang", ""),
    ({"filter": "fatalities = 1", "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"},
     "filter-crs", ""),
]  # fmt: skip


@pytest.mark.parametrize(("params", "parameter", "message"), BAD)
def test_a_bad_filter_is_a_400_naming_the_part(
    client: TestClient, params: dict[str, str], parameter: str, message: str
) -> None:
    answer = client.get(ITEMS, params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["errors"][0]["parameter"] == parameter
    assert message in problem["detail"]


def test_conformance_and_queryables_say_what_qgis_looks_for(client: TestClient) -> None:
    conforms = set(client.get("/conformance").json()["conformsTo"])
    for needed in (
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    ):
        assert needed in conforms
    queryables = client.get("/collections/events/queryables").json()["properties"]
    assert queryables["geometry"]["$ref"].startswith("https://geojson.org/schema/")
    assert queryables["occurred_at"] == {
        **queryables["occurred_at"],
        "type": "string",
        "format": "date-time",
    }


def _pages(client: TestClient, url: str) -> list[int]:
    seen: list[int] = []
    next_url: str | None = url
    while next_url:
        page = client.get(next_url).json()
        seen += [f["id"] for f in page["features"]]
        next_url = next((link["href"] for link in page["links"] if link["rel"] == "next"), None)
    return seen


def test_a_box_and_window_filter_pages_as_the_parameters_do(client: TestClient) -> None:
    """Read as `bbox` and `datetime` (app.domain.cql.native_parts): the same pages, links."""
    window = "INTERVAL('2022-06-01T00:00:00Z','2023-06-01T00:00:00Z')"
    expression = (f"S_INTERSECTS(geometry, BBOX(30,46,36,50)) AND T_INTERSECTS(INTERVAL("
                  f"occurred_at, occurred_until), {window}) AND source_count >= 0")  # fmt: skip
    params = "bbox=30,46,36,50&datetime=2022-06-01T00:00:00Z/2023-06-01T00:00:00Z"
    by_filter = _pages(client, f"/events?limit=4&filter={expression}")
    assert by_filter == _pages(client, f"/events?limit=4&{params}")
    assert len(by_filter) > 8


def test_dataset_and_external_id_find_an_imported_event(
    client: TestClient, features: Features
) -> None:
    """`dataset` + `external_id`: the event a dataset calls r7, as an import keyed it."""
    [r7] = [f["id"] for f in features if f["properties"]["external_id"] == "r7"]
    found = client.get("/events", params={"dataset": "test", "external_id": "r7"}).json()
    assert [f["id"] for f in found["features"]] == [r7]
    every = client.get("/events", params={"dataset": "test,frontline", "limit": 10000}).json()
    assert len(every["features"]) == len(features)
    assert client.get("/events", params={"dataset": "acled"}).json()["features"] == []
    assert ids(client, "external_id = 'r7'") == [r7]
