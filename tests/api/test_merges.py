"""One event, many sources: candidates, merge without loss, unmerge exactly, the redirect."""

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyproj import Geod

from app.domain.bodies import EventCreate
from app.domain.errors import Conflict, PreconditionFailed
from app.domain.vocab import Scope
from app.services import merges, writes
from app.services.keys import Principal
from app.store.engine import make_engine
from tests.api.test_writes import Api, _prepare
from tests.conftest import client_for, dump_tables, settings_for

TABLES = ("events", "event_sources", "event_revisions", "event_merges")
GEOD = Geod(ellps="WGS84")

# One shelling of Sudzha as three datasets report it (a feed, a research log, an analyst).
FEED = {
    "title": "Shelling of Sudzha",
    "event_type": "shelling",
    "occurred_at": "2025-03-10T00:00:00Z",
    "place": "sudzha",
    "actors": ["Russian Armed Forces"],
    "tags": ["artillery"],
    "dataset": "feed-a",
    "external_id": "A-17",
    "citations": [{"source": "ru-milbloggers", "stance": "reports", "url": "https://t.me/x/1"}],
}
RESEARCH = {
    "title": "Artillery shelling of Sudzha",
    "event_type": "shelling",
    "occurred_at": "2025-03-10T14:00:00Z",
    "time_precision": "hour",
    "place": "sudzha",
    "geometry": {"type": "Point", "coordinates": [35.29, 51.20]},
    "location_precision": "near",
    "actors": ["Russian Armed Forces", "Ukrainian Armed Forces"],
    "tags": ["artillery", "geolocated"],
    "dataset": "research-b",
    "external_id": "B-5",
    "citations": [
        {"source": "isw", "stance": "reports", "url": "https://example.org/isw/1"},
        {"source": "ru-milbloggers", "stance": "reports", "url": "https://t.me/x/1"},
    ],
}
ELSEWHERE = {  # the same day and type, but in Belgorod: no candidate of the two above
    **FEED, "place": "belgorod", "dataset": "feed-c", "external_id": "C-1",
    "title": "Shelling of Belgorod",
}  # fmt: skip
LATER = {**FEED, "dataset": "feed-c", "external_id": "C-2", "occurred_at": "2025-03-13T00:00:00Z"}


@pytest.fixture
def api(fresh_url: str) -> Iterator[Api]:
    keys = asyncio.run(_prepare(fresh_url))
    with client_for(fresh_url) as client:
        yield Api(client, fresh_url, keys)


def _create(api: Api, body: dict[str, Any]) -> int:
    created = api.create(body)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _event(api: Api, event_id: int) -> dict[str, Any]:
    answer = api.client.get(f"/events/{event_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _merge(api: Api, survivor: int, other: int, **headers: str) -> Any:
    return api.client.post(
        f"/events/{survivor}/merge", json={"event": other}, headers=api.auth(**headers)
    )


def test_candidates_are_ranked_with_their_reasons(api: Api) -> None:
    feed, research = _create(api, FEED), _create(api, RESEARCH)
    _create(api, ELSEWHERE), _create(api, LATER)
    found = api.client.get(f"/events/{feed}/matches")
    assert found.status_code == 200, found.text
    matches = found.json()["matches"]
    assert [m["candidate_id"] for m in matches] == [research]  # not Belgorod, not 3 days later
    best = matches[0]
    a, b = _event(api, feed)["geometry"]["coordinates"], RESEARCH["geometry"]["coordinates"]
    _, _, metres = GEOD.inv(a[0], a[1], b[0], b[1])
    reasons = best["reasons"]
    assert reasons["distance_m"] == pytest.approx(metres, abs=1)
    assert reasons["distance_limit_m"] == 10_000  # the coarser of settlement and near
    assert reasons["inside_area"] is None
    assert reasons["time_overlap"] is True and reasons["time_gap_s"] == 0  # 14:00 is that day
    assert reasons["type"] == "same" and reasons["same_place"] is True
    assert 0 < reasons["title_similarity"] < 1
    assert (best["dataset"], best["external_id"]) == ("research-b", "B-5")
    space = 1 - reasons["distance_m"] / 10_000
    expected = 0.30 * space + 0.25 + 0.20 + 0.10 + 0.15 * reasons["title_similarity"]
    assert best["score"] == pytest.approx(expected, abs=0.002)
    # Symmetric, and the same dataset only when asked.
    back = api.client.get(f"/events/{research}/matches").json()["matches"]
    assert [m["candidate_id"] for m in back] == [feed]
    twin = _create(api, {**FEED, "external_id": "A-18"})
    assert [m["candidate_id"] for m in api.client.get(f"/events/{feed}/matches").json()["matches"]
            ] == [research]  # fmt: skip
    same = api.client.get(f"/events/{feed}/matches?same_dataset=true").json()["matches"]
    assert {m["candidate_id"] for m in same} == {research, twin}
    assert api.client.get(f"/events/{feed}/matches?min_score=1").json()["matches"] == []


def test_region_precision_matches_anything_in_its_region(api: Api) -> None:
    sudzha = _create(api, FEED)
    in_region = {"place": "kursk-oblast", "location_precision": "region", "geometry": None}
    region = _create(api, {**FEED, **in_region, "dataset": "feed-r", "external_id": "R-1"})
    belgorod = _create(api, ELSEWHERE)
    matches = api.client.get(f"/events/{region}/matches?min_score=0").json()["matches"]
    assert [m["candidate_id"] for m in matches] == [sudzha]  # Belgorod is 90 km off, not in it
    assert matches[0]["reasons"]["inside_area"] is True
    assert belgorod not in [m["candidate_id"] for m in matches]


def test_unknown_deleted_and_bad_parameters(api: Api) -> None:
    event_id = _create(api, FEED)
    missing = api.client.get("/events/999999/matches")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "No event with id 999999."
    bad = api.client.get(f"/events/{event_id}/matches?min_score=2")
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "min_score"
    api.client.delete(f"/events/{event_id}", headers=api.auth())
    assert api.client.get(f"/events/{event_id}/matches").status_code == 404
    nothing = api.client.get("/matches?dataset=no-such-dataset")
    assert nothing.status_code == 404
    assert nothing.json()["detail"] == "No events in dataset 'no-such-dataset'."


def test_dataset_matches_stream_as_ndjson(api: Api) -> None:
    feed, research = _create(api, FEED), _create(api, RESEARCH)
    _create(api, ELSEWHERE)
    answer = api.client.get("/matches?dataset=feed-a&against=research-b,feed-c")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/x-ndjson"
    lines = [line for line in answer.text.splitlines() if line]
    pairs = [(row["event_id"], row["candidate_id"]) for row in map(json.loads, lines)]
    assert pairs == [(feed, research)]
    assert api.client.get("/matches?dataset=feed-a&against=feed-c").text == ""


def test_merge_keeps_every_claim_and_unmerge_restores_both(api: Api) -> None:
    feed, research = _create(api, FEED), _create(api, RESEARCH)
    before = {event_id: _event(api, event_id) for event_id in (feed, research)}
    tables_before = dump_tables(api.url, ("event_sources",))
    merged = _merge(api, feed, research, **{"If-Match": '"1"'})
    assert merged.status_code == 200, merged.text
    assert merged.headers["etag"] == '"2"'
    props = merged.json()["properties"]
    cited = {(c["source"], c["url"], c["merged_from"]) for c in props["citations"]}
    assert cited == {
        ("ru-milbloggers", "https://t.me/x/1", None),  # the feed's own; the research copy is it
        ("isw", "https://example.org/isw/1", research),
    }
    assert props["actors"] == ["Russian Armed Forces", "Ukrainian Armed Forces"]
    assert props["tags"] == ["artillery", "geolocated"]
    assert props["verification"] == "corroborated"  # bloggers and ISW, independently
    assert props["source_count"] == 2
    corroborated = api.client.get("/events?verification=corroborated").json()["features"]
    assert [f["id"] for f in corroborated] == [feed]
    # The merged record redirects, is found by its origin, and the feed reports it.
    gone = api.client.get(f"/events/{research}?f=json", follow_redirects=False)
    assert gone.status_code == 308
    assert gone.headers["location"] == f"/events/{feed}?f=json"
    assert gone.headers["link"] == f'</events/{feed}?f=json>; rel="successor-version"'
    assert gone.json()["merged_into"] == feed
    ogc = api.client.get(f"/collections/events/items/{research}", follow_redirects=False)
    assert ogc.headers["location"] == f"/collections/events/items/{feed}"
    found = api.client.get("/events?dataset=research-b&external_id=B-5").json()["features"]
    assert [f["id"] for f in found] == [feed]
    feed_page = api.client.get("/events", params={"updated_since": "2000-01-01T00:00:00Z",
                                                  "include_deleted": "true"}).json()  # fmt: skip
    tombstone = next(f for f in feed_page["features"] if f["id"] == research)
    assert tombstone["properties"]["merged_into"] == feed
    # Edits of the tombstone are refused, naming the survivor.
    patch = {"Content-Type": "application/merge-patch+json"}
    edit = api.client.patch(f"/events/{research}", json={"title": "x"}, headers=api.auth(**patch))
    assert edit.status_code == 409
    assert edit.json()["detail"] == (
        f"Event {research} was merged into event {feed}; change that one, or unmerge this "
        f"one first (POST /events/{research}/unmerge)."
    )
    # Unmerge: both read as before, apart from their versions, and history says so.
    undone = api.client.post(f"/events/{research}/unmerge", headers=api.auth(**{"If-Match": '"2"'}))
    assert undone.status_code == 200, undone.text
    assert undone.headers["etag"] == '"3"'
    for event_id, was in before.items():
        now = _event(api, event_id)
        for volatile in ("version", "updated_at"):
            now["properties"].pop(volatile), was["properties"].pop(volatile)
        assert now == was
    assert dump_tables(api.url, ("event_sources",)) == tables_before
    history = api.client.get(f"/events/{feed}/history").json()["revisions"]
    assert [r["operation"] for r in history] == ["create", "merge", "unmerge"]
    assert history[1]["note"] == f"merged event {research} (research-b:B-5) into this one"
    other = api.client.get(f"/events/{research}/history").json()["revisions"]
    assert [r["operation"] for r in other] == ["create", "merge", "unmerge"]
    assert other[1]["changes"]["merged_into"] == {"from": None, "to": feed}
    assert api.client.get("/events?dataset=research-b&external_id=B-5").json()["features"][0][
        "id"] == research  # fmt: skip


def test_bad_merges_are_refused_and_change_nothing(api: Api) -> None:
    a, b, c = _create(api, FEED), _create(api, RESEARCH), _create(api, LATER)
    deleted = _create(api, ELSEWHERE)
    api.client.delete(f"/events/{deleted}", headers=api.auth())
    snapshot = dump_tables(api.url, TABLES)
    cases = [
        (_merge(api, a, a), 409, f"Event {a} cannot be merged into itself."),
        (_merge(api, a, 999999), 404, "No event with id 999999 (the body's event)."),
        (_merge(api, 999999, a), 404, "No event with id 999999."),
        (_merge(api, a, deleted), 409, f"Event {deleted} is deleted; restore it first."),
        (_merge(api, deleted, a), 409, f"Event {deleted} is deleted; restore it first."),
        (_merge(api, a, b, **{"If-Match": '"7"'}), 412,
         f"Event {a} is at version 1, not 7; fetch it again and reapply your change."),
        (api.client.post(f"/events/{a}/merge", json={"event": b, "version": 3},
                         headers=api.auth()), 412,
         f"Event {b} is at version 1, not 3; fetch it again and reapply your change."),
        (api.client.post(f"/events/{a}/merge", json={"event": "b"}, headers=api.auth()), 422,
         None),
        (api.client.post(f"/events/{a}/unmerge", headers=api.auth()), 409,
         f"Event {a} is not merged into another event."),
        (api.client.post(f"/events/{a}/merge", json={"event": b}), 401, None),
        (api.client.post(f"/events/{a}/merge", json={"event": b},
                         headers=api.auth("reader")), 403, None),
    ]  # fmt: skip
    for answer, status, detail in cases:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        if detail is not None:
            assert answer.json()["detail"] == detail
    assert dump_tables(api.url, TABLES) == snapshot
    assert _merge(api, a, b).status_code == 200
    after_first = dump_tables(api.url, TABLES)
    loop = _merge(api, b, a)
    assert loop.status_code == 409
    assert loop.json()["detail"] == (
        f"Event {b} was merged into event {a}: merging {a} into it would make a cycle."
    )
    again = _merge(api, c, b)
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"Event {b} was already merged into event {a} and cannot be merged; use event {a}."
    )
    assert dump_tables(api.url, TABLES) == after_first
    # A chain: a into c; b's URL follows to c, and b cannot come back before a does.
    assert _merge(api, c, a).status_code == 200
    chained = api.client.get(f"/events/{b}", follow_redirects=False)
    assert chained.headers["location"] == f"/events/{c}"
    stuck = api.client.post(f"/events/{b}/unmerge", headers=api.auth())
    assert stuck.status_code == 409
    assert stuck.json()["detail"] == (
        f"Event {b} was merged into event {a}, which has since been merged into event {c}: "
        f"unmerge {a} first."
    )


def test_a_merge_racing_an_edit_lets_one_win(api: Api) -> None:
    """Both send the version they read; exactly one commits, the other is refused whole."""
    settings = settings_for(api.url)
    who = Principal("writer", frozenset({Scope.WRITE}))

    async def race() -> list[tuple[int, Any, Any]]:
        engine = make_engine(api.url, settings)
        try:
            outcomes = []
            for _ in range(8):
                a = await writes.create_event(engine, _body(FEED, "A"), who)
                b = await writes.create_event(engine, _body(RESEARCH, "B"), who)
                edit = writes.patch_event(engine, b.id, {"title": "Edited"}, b.version, who)
                merge = merges.merge_events(engine, a.id, b.id, (a.version, b.version), who)
                done = await asyncio.gather(edit, merge, return_exceptions=True)
                outcomes.append((b.id, *done))
            return outcomes
        finally:
            await engine.dispose()

    rows = {}
    outcomes = asyncio.run(race())
    for row in dump_tables(api.url, ("events",))["events"]:
        event = json.loads(row)
        rows[event["id"]] = event
    for b, edited, merged in outcomes:
        failures = [o for o in (edited, merged) if isinstance(o, Exception)]
        assert len(failures) == 1, (edited, merged)
        assert isinstance(failures[0], PreconditionFailed | Conflict)
        event = rows[b]
        if isinstance(merged, Exception):  # the edit won: b is live and edited
            assert (event["title"], event["merged_into"]) == ("Edited", None)
        else:  # the merge won: b is a tombstone with its old title
            assert event["title"] == RESEARCH["title"] and event["merged_into"] is not None


_counter = iter(range(1_000_000))


def _body(template: dict[str, Any], prefix: str) -> EventCreate:
    return EventCreate.model_validate({**template, "external_id": f"{prefix}-{next(_counter)}"})


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "app.cli", "matches", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def test_review_file_round_trip_all_or_nothing(api: Api, tmp_path: Path) -> None:
    feed, research = _create(api, FEED), _create(api, RESEARCH)
    other = _create(api, {**FEED, "external_id": "A-99", "place": "belgorod"})
    in_belgorod = _create(api, {**ELSEWHERE, "dataset": "research-b", "external_id": "B-6"})
    listed = _cli(api.url, "--dataset", "feed-a", "--against", "research-b")
    assert listed.returncode == 0, listed.stderr
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    pairs = [(int(r["event_id"]), int(r["candidate_id"])) for r in rows]
    assert pairs == [(feed, research), (other, in_belgorod)]
    assert rows[0]["decision"] == "" and rows[0]["candidate_external_id"] == "B-5"
    assert listed.stderr.strip() == "2 candidate pairs"
    snapshot = dump_tables(api.url, TABLES)
    # A bad row anywhere: nothing is merged, and the message names the line.
    bad = tmp_path / "bad.csv"
    bad.write_text(f"decision,event_id,candidate_id\naccept,{feed},{research}\n"
                   f"accept,{other},{other}\n")  # fmt: skip
    refused = _cli(api.url, "--apply", str(bad))
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"frontline matches --apply: Line 3: Event {other} cannot be merged into itself. "
        "Nothing was merged."
    )
    assert dump_tables(api.url, TABLES) == snapshot
    typo = tmp_path / "typo.csv"
    typo.write_text(f"decision,event_id,candidate_id\nyes,{feed},{research}\n")
    assert _cli(api.url, "--apply", str(typo)).stderr.strip() == (
        "frontline matches --apply: Line 2: decision 'yes' is not accept, reject or empty. "
        "Nothing was merged."
    )
    review = tmp_path / "review.csv"
    rows[0]["decision"], rows[1]["decision"] = "accept", "reject"
    with review.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    applied = _cli(api.url, "--apply", str(review))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == (
        "merged 1 pairs (1 citations copied, 1 already cited); 1 rejected, 0 undecided"
    )
    assert api.client.get(f"/events/{research}", follow_redirects=False).status_code == 308
    assert _cli(api.url, "--dataset", "nope").stderr.strip() == (
        "frontline matches: No events in dataset 'nope'."
    )


def _import(api: Api, dataset: str, *features: dict[str, Any]) -> dict[str, Any]:
    doc = json.dumps({"type": "FeatureCollection", "features": list(features)})
    headers = api.auth(**{"Content-Type": "application/geo+json"})
    answer = api.client.post(f"/imports?dataset={dataset}", content=doc, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _record(**changes: Any) -> dict[str, Any]:
    props = {"title": "Shelling of Sudzha", "event_type": "shelling",
             "occurred_at": "2025-03-10T00:00:00Z", "place": "Sudzha",
             "location_precision": "settlement", "actors": ["Russian Armed Forces"],
             "citations": [{"source": "bloggers-x", "stance": "reports",
                            "url": "https://t.me/x/1"}]}  # fmt: skip
    point = {"type": "Point", "coordinates": [35.27, 51.19]}
    return {"type": "Feature", "id": "A-1", "geometry": point, "properties": {**props, **changes}}


def test_a_later_import_of_a_merged_record_updates_the_survivor(api: Api) -> None:
    """The dataset still owns its record: what it changes reaches the survivor, and unmerge
    gives the record back with the dataset's latest values."""
    assert _import(api, "feed-a", _record())["inserted"] == 1
    record = api.client.get("/events?dataset=feed-a&external_id=A-1").json()["features"][0]["id"]
    survivor = _create(api, RESEARCH)
    assert _merge(api, survivor, record).status_code == 200
    merged = _event(api, survivor)["properties"]
    again = _import(api, "feed-a", _record())
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert _event(api, survivor)["properties"] == merged  # nothing new: nothing changed
    cited = {"source": "reuters", "stance": "reports", "url": "https://example.org/r/1"}
    changed = _record(fatalities=3, actors=["Russian Armed Forces", "Wagner Group"],
                      citations=[*_record()["properties"]["citations"], cited])  # fmt: skip
    report = _import(api, "feed-a", changed)
    assert (report["updated"], report["survivors_updated"]) == (1, 1)
    now = _event(api, survivor)["properties"]
    assert now["fatalities"] == 3  # the feed changed it
    assert now["title"] == RESEARCH["title"]  # the feed did not change it: the survivor's stays
    assert now["actors"] == ["Russian Armed Forces", "Ukrainian Armed Forces", "Wagner Group"]
    assert {(c["source"], c["merged_from"]) for c in now["citations"]} == {
        ("isw", None), ("ru-milbloggers", None), ("bloggers-x", record), ("reuters", record)
    }  # fmt: skip
    assert now["version"] == merged["version"] + 1
    history = api.client.get(f"/events/{survivor}/history").json()["revisions"]
    ops = [r["operation"] for r in history]
    assert ops == ["create", "merge", "update"]
    undone = api.client.post(f"/events/{record}/unmerge", headers=api.auth())
    assert undone.status_code == 200, undone.text
    back = undone.json()["properties"]
    assert back["fatalities"] == 3 and back["actors"] == ["Russian Armed Forces", "Wagner Group"]
    assert {c["source"] for c in back["citations"]} == {"bloggers-x", "reuters"}
    left = _event(api, survivor)["properties"]
    assert {c["source"] for c in left["citations"]} == {"isw", "ru-milbloggers"}
