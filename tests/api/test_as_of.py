"""`as_of` against a replay of the history in Python, for random edit sequences and instants.

Every write answers with the event as it is after the write, and the history says when each
version was recorded; the oracle replays those versions and asks which one was current at a
random instant. The server must answer pages (paged through their cursors, with filters),
exports and single events exactly so.
"""

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_writes import Api, api  # noqa: F401  (the fixture)

MERGE = "application/merge-patch+json"
# Each example writes its events into a box of its own, so examples do not see each other.
_boxes = itertools.count()

Op = tuple[int, str, int]  # (event index, what, a value for it)
OPS = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["fatalities", "move", "time", "title", "cite", "delete", "restore"]),
    st.integers(0, 40),
)


WIDE_WINDOW = "2020-01-01T00:00:00Z/2030-01-01T00:00:00Z"


def _box() -> tuple[float, float]:
    n = next(_boxes)
    return -170.0 + (n % 300) * 1.0, -60.0 + (n // 300) * 1.0


def _patch(service: Api, fid: int, version: int, body: dict[str, Any]) -> Any:
    headers = service.auth(**{"If-Match": f'"{version}"', "Content-Type": MERGE})
    return service.client.patch(f"/events/{fid}", content=json.dumps(body), headers=headers)


def _apply(service: Api, fid: int, version: int, what: str, value: int, west: float,
           south: float) -> Any:  # fmt: skip
    """One edit through the API; its response."""
    if what == "fatalities":
        return _patch(service, fid, version, {"fatalities": value})
    if what == "move":
        point = [west + value / 50, south + value / 80]
        return _patch(service, fid, version, {"geometry": {"type": "Point", "coordinates": point}})
    if what == "time":
        start = datetime(2025, 3, 1) + timedelta(days=value)
        return _patch(service, fid, version, {"occurred_at": f"{start.isoformat()}Z"})
    if what == "title":
        return _patch(service, fid, version, {"title": f"Edited {value}"})
    if_match = service.auth(**{"If-Match": f'"{version}"'})
    if what == "cite":
        stance = ["reports", "claims", "denies", "confirms"][value % 4]
        body = {"source": "isw", "stance": stance, "url": f"https://example.org/{fid}/{value}"}
        return service.client.post(f"/events/{fid}/sources", json=body, headers=if_match)
    if what == "delete":
        return service.client.delete(f"/events/{fid}", headers=if_match)
    return service.client.post(f"/events/{fid}/restore", headers=if_match)


def _write(service: Api, events: int, ops: list[Op], west: float, south: float) -> dict[int, Any]:
    """Create the events, apply the edits; each event's versions: version → Feature or None."""
    versions: dict[int, dict[int, Any]] = {}
    for i in range(events):
        point = {"type": "Point", "coordinates": [west + 0.1 * i, south + 0.1]}
        body = {"title": f"Event {i}", "event_type": "shelling",
                "occurred_at": f"2025-03-{10 + i:02d}T00:00:00Z", "geometry": point}  # fmt: skip
        created = service.create(body)
        assert created.status_code == 201, created.text
        versions[created.json()["id"]] = {1: created.json()}
    ids = list(versions)
    cited: set[tuple[int, int]] = set()
    for index, what, value in ops:
        fid = ids[index % len(ids)]
        version = max(versions[fid])
        deleted = versions[fid][version] is None
        if (what == "restore") != deleted:  # only a deleted event is restored, and vice versa
            continue
        if what == "cite" and (fid, value) in cited:  # the same URL again is a 409
            continue
        cited |= {(fid, value)} if what == "cite" else set()
        response = _apply(service, fid, version, what, value, west, south)
        assert response.status_code in (200, 204), response.text
        versions[fid][version + 1] = None if what == "delete" else response.json()
    return versions


def _timeline(service: Api, versions: dict[int, dict[int, Any]]) -> list[tuple[datetime, int, Any]]:
    """(recorded at, event id, its Feature then or None when deleted), from the history."""
    timeline = []
    for fid, by_version in versions.items():
        history = service.client.get(f"/events/{fid}/history").json()["revisions"]
        assert [r["version"] for r in history] == sorted(by_version)
        for revision in history:
            at = datetime.fromisoformat(revision["changed_at"])
            timeline.append((at, fid, by_version[revision["version"]]))
    return timeline


def _known_at(timeline: list[tuple[datetime, int, Any]], instant: datetime) -> dict[int, Any]:
    """The replay: each event's latest version recorded at or before the instant."""
    state: dict[int, Any] = {}
    for at, fid, feature in sorted(timeline, key=lambda t: (t[0], t[1])):
        if at <= instant:
            state[fid] = feature
    return {fid: feature for fid, feature in state.items() if feature is not None}


def _in_a_page(feature: Any) -> Any:
    """A single event's Feature as a page shows it: citations as source and stance only."""
    compact = [{"source": c["source"], "stance": c["stance"]}
               for c in feature["properties"]["citations"]]  # fmt: skip
    return {**feature, "properties": {**feature["properties"], "citations": compact}}


def _paged(service: Api, params: dict[str, str]) -> list[Any]:
    """Every Feature of a query, following its next links (two Features a page)."""
    page = service.client.get("/events", params={**params, "limit": "2"}).json()
    features = page["features"]
    while url := next((link["href"] for link in page["links"] if link["rel"] == "next"), ""):
        page = service.client.get(url).json()  # the link keeps every parameter
        features += page["features"]
    return features


def _instants(timeline: list[tuple[datetime, int, Any]], picks: list[int]) -> list[datetime]:
    """Instants around the recorded ones: just before, at, and just after each."""
    moments = sorted({at for at, _, _ in timeline})
    around = [m + timedelta(microseconds=d) for m in moments for d in (-1, 0, 1)]
    return [around[p % len(around)] for p in picks]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    events=st.integers(1, 3),
    ops=st.lists(OPS, max_size=8),
    picks=st.lists(st.integers(0, 200), min_size=1, max_size=4),
    min_fatalities=st.none() | st.integers(0, 40),
)
def test_as_of_equals_a_replay_of_the_history(
    api: Api,  # noqa: F811
    events: int,
    ops: list[Op],
    picks: list[int],
    min_fatalities: int | None,
) -> None:
    west, south = _box()
    timeline = _timeline(api, _write(api, events, ops, west, south))
    box = f"{west - 0.01},{south - 0.01},{west + 0.99},{south + 0.99}"
    for instant in _instants(timeline, picks):
        known = _known_at(timeline, instant)
        if min_fatalities is not None:
            known = {i: f for i, f in known.items()
                     if (f["properties"]["fatalities"] or -1) >= min_fatalities}  # fmt: skip
        in_order = sorted(known.values(), key=lambda f: (f["properties"]["occurred_at"], f["id"]))
        expected = [_in_a_page(feature) for feature in in_order]
        params = {"bbox": box, "as_of": instant.isoformat()}
        if min_fatalities is not None:
            params["min_fatalities"] = str(min_fatalities)
        assert _paged(api, params) == expected
        # With a window, the page is read slice by slice (every edit stays inside it).
        assert _paged(api, {**params, "datetime": WIDE_WINDOW}) == expected
        assert api.client.get("/events/export", params=params).json()["features"] == expected
        known = _known_at(timeline, instant)
        for fid in {fid for _, fid, _ in timeline}:
            one = api.client.get(f"/events/{fid}", params={"as_of": instant.isoformat()})
            if fid in known:
                assert one.json() == known[fid]
            else:
                assert one.status_code == 404
