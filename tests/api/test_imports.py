"""Bulk imports: ACLED, UCDP and GeoJSON; idempotent, revisioned, all or nothing."""

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.domain.vocab import Scope
from app.ingest.event_staging import ImportReport
from app.ingest.events import import_events
from app.ingest.seed import seed
from app.services.keys import create_key
from tests.conftest import client_for, dump_tables, execute, settings_for, with_engine

ACLED_COLUMNS = ["event_id_cnty", "event_date", "event_type", "sub_event_type", "actor1",
                 "actor2", "admin1", "location", "latitude", "longitude", "geo_precision",
                 "time_precision", "source", "notes", "fatalities"]  # fmt: skip
ACLED = [
    ["UKR1001", "2025-03-18", "Battles", "Armed clash", "Military Forces of Russia",
     "Military Forces of Ukraine", "Belgorod", "Demidovka", "50.8537", "35.5199", "1", "1",
     "Ministry of Defence of Russia", "Clashes reported at the border.", "0"],
    ["UKR1002", "19 March 2025", "Explosions/Remote violence",
     "Shelling/artillery/missile attack", "Military Forces of Ukraine", "", "Kursk", "Sudzha",
     "51.19", "35.27", "1", "1", "Kommersant; Meduza", "Shelling of the town.", "2"],
    ["UKR1003", "2025-03-20", "Explosions/Remote violence", "Air/drone strike",
     "Military Forces of Russia", "Civilians (Ukraine)", "Sumy", "Novaya Derevnya", "50.95",
     "34.95", "2", "2", "Suspilne", "Strike near a village.", "1"],
    ["UKR1004", "2025-03-21", "Strategic developments", "Non-violent transfer of territory",
     "Military Forces of Russia", "", "Kursk", "Kursk", "51.73733", "36.18735", "3", "3",
     "ISW", "", "0"],
    ["UKR1005", "2025-03-22", "Violence against civilians", "Attack", "Unidentified",
     "Civilians (Ukraine)", "Kharkiv", "Kharkiv", "49.98", "36.25", "1", "1", "Suspilne", "", ""],
]  # fmt: skip


def acled_csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ACLED_COLUMNS)
    writer.writerows(rows)
    return out.getvalue()


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def run_import(url: str, path: Path, dataset: str = "acled", **kw: object) -> ImportReport:
    return with_engine(url, lambda e: import_events(e, path, dataset, "test", **kw))  # type: ignore[arg-type]


@pytest.fixture
def seeded(fresh_url: str) -> str:
    with_engine(fresh_url, seed)
    return fresh_url


def events_of(client: TestClient, dataset_prefix: str = "UKR") -> dict[str, dict[str, object]]:
    features = client.get("/events", params={"limit": "10000"}).json()["features"]
    return {f["properties"]["external_id"]: f for f in features
            if str(f["properties"]["external_id"]).startswith(dataset_prefix)}  # fmt: skip


def test_acled_import_maps_resolves_and_creates(seeded: str, tmp_path: Path) -> None:
    report = run_import(seeded, write(tmp_path, "acled.csv", acled_csv(ACLED)))
    assert (report.rows, report.inserted, report.rejected_count, report.written) == (5, 5, 0, True)
    with client_for(seeded) as client:
        got = events_of(client)
        demidovka = got["UKR1001"]["properties"]
        assert demidovka["place_slug"] == "demidovka" and demidovka["event_type"] == "battle"
        assert demidovka["occurred_at"] == "2025-03-18T00:00:00+00:00"
        assert demidovka["citations"] == [{"source": "ministry-of-defence-of-russia",
                                           "stance": "reports"}]  # fmt: skip
        sudzha = got["UKR1002"]["properties"]
        assert sudzha["place_slug"] == "sudzha" and sudzha["event_type"] == "shelling"
        assert sudzha["source_count"] == 2 and sudzha["fatalities"] == 2
        village = got["UKR1003"]["properties"]
        assert village["place_name"] == "Novaya Derevnya"  # created: not in the gazetteer
        assert (village["location_precision"], village["time_precision"]) == ("near", "week")
        path = client.get(f"/places/{village['place_slug']}").json()["properties"]["admin_path"]
        assert path == "Novaya Derevnya, Sumy Oblast, Ukraine"
        assert got["UKR1004"]["properties"]["event_type"] == "territorial_change"
        assert got["UKR1005"]["properties"]["fatalities"] is None
        history = client.get(f"/events/{got['UKR1001']['id']}/history").json()
        assert [r["operation"] for r in history["revisions"]] == ["create"]


def test_reimport_changes_nothing_and_a_changed_row_is_a_new_version(
    seeded: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "acled.csv", acled_csv(ACLED))
    run_import(seeded, path)
    before = dump_tables(seeded)
    again = run_import(seeded, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    assert dump_tables(seeded) == before
    changed = [row[:] for row in ACLED]
    changed[1][14] = "3"  # fatalities of UKR1002
    report = run_import(seeded, write(tmp_path, "acled2.csv", acled_csv(changed)))
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 4)
    with client_for(seeded) as client:
        event = events_of(client)["UKR1002"]
        assert event["properties"]["fatalities"] == 3 and event["properties"]["version"] == 2
        history = client.get(f"/events/{event['id']}/history").json()["revisions"]
        assert history[1]["changes"]["fatalities"] == {"from": 2, "to": 3}


BAD_ROWS = [
    (["UKR2001", "2025-03-18", "Battles", "", "", "", "", "X", "95", "35", "1", "1", "S", "", ""],
     "latitude/longitude", "Value error, latitude 95 is outside [-90, 90]"),
    (["UKR2001", "18/03/2025", "Battles", "", "", "", "", "X", "50", "35", "1", "1", "S", "", ""],
     "event_date", "'18/03/2025' is not a date (YYYY-MM-DD)"),
    (["UKR2001", "2025-03-18", "Picnics", "", "", "", "", "X", "50", "35", "1", "1", "S", "", ""],
     "event_type", "unknown ACLED event type 'Picnics'"),
    (["UKR2001", "2025-03-18", "Battles", "", "", "", "", "X", "50", "35", "9", "1", "S", "", ""],
     "geo_precision", "unknown code '9'; expected one of [1, 2, 3]"),
    (["UKR2001", "2025-03-18", "Battles", "", "", "", "", "X", "50", "35", "1", "1", "S", "", "-4"],
     "fatalities", "Input should be greater than or equal to 0"),
    (["", "2025-03-18", "Battles", "", "", "", "", "X", "50", "35", "1", "1", "S", "", ""],
     "external_id", "every row needs an id"),
]  # fmt: skip


@pytest.mark.parametrize(("bad", "column", "reason"), BAD_ROWS)
def test_one_bad_row_leaves_the_database_exactly_as_before(
    seeded: str, tmp_path: Path, bad: list[str], column: str, reason: str
) -> None:
    before = dump_tables(seeded)
    rows = [*ACLED[:2], bad, *ACLED[2:]]
    report = run_import(seeded, write(tmp_path, "bad.csv", acled_csv(rows)))
    assert not report.written and report.rejected_count == 1
    assert report.rejected == [{"line": 4, "column": column, "reason": reason}]
    assert dump_tables(seeded) == before


def test_partial_keeps_the_good_rows_and_reports_duplicates(seeded: str, tmp_path: Path) -> None:
    rows = [*ACLED, BAD_ROWS[0][0], ACLED[0]]
    report = run_import(seeded, write(tmp_path, "partial.csv", acled_csv(rows)), partial=True)
    assert report.written and report.inserted == 5
    assert report.rejected == [
        {"line": 7, "column": "latitude/longitude",
         "reason": "Value error, latitude 95 is outside [-90, 90]"},
        {"line": 8, "column": "external_id", "reason": "duplicate of line 2 ('UKR1001')"},
    ]  # fmt: skip


def test_a_repeated_id_keeps_its_first_row_and_citations_unless_last_wins(
    seeded: str, tmp_path: Path
) -> None:
    """The row a repeat loses takes its citations with it; --last-wins keeps the last row."""
    later = [*ACLED[0][:12], "Meduza", ACLED[0][13], "7"]  # UKR1001 again, other source
    path = write(tmp_path, "dup.csv", acled_csv([ACLED[0], later]))
    first = run_import(seeded, path, dataset="first", partial=True)
    assert (first.inserted, first.rejected_count) == (1, 1)
    sql = ("SELECT e.fatalities, array_agg(s.slug ORDER BY s.slug) FROM events e "
           "JOIN event_sources es ON es.event_id = e.id JOIN sources s ON s.id = es.source_id "
           "WHERE e.dataset = '{}' GROUP BY e.fatalities")  # fmt: skip
    assert execute(seeded, sql.format("first")) == [(0, ["ministry-of-defence-of-russia"])]
    last = run_import(seeded, path, dataset="last", last_wins=True)
    assert (last.inserted, last.rejected_count, last.warning_count) == (1, 0, 1)
    assert last.warnings == [{"line": 2, "column": "external_id",
                              "reason": "replaced by line 3 ('UKR1001')"}]  # fmt: skip
    assert execute(seeded, sql.format("last")) == [(7, ["meduza"])]


UCDP_COLUMNS = ["id", "type_of_violence", "dyad_name", "side_a", "side_b", "source_office",
                "source_date", "source_article", "where_prec", "where_coordinates",
                "where_description", "latitude", "longitude", "date_prec", "date_start",
                "date_end", "best", "low", "high"]  # fmt: skip
UCDP = [
    ["190001", "1", "Government of Ukraine - DPR", "Government of Ukraine", "DPR",
     "Reuters;Interfax", "2017-02-01;2017-02-02", '"Reuters,2017-02-01,Fighting in Avdiivka"',
     "1", "Avdiivka town", "Avdiivka", "48.13989", "37.74255", "1", "2017-01-29", "2017-02-03",
     "12", "10", "20"],
    ["190002", "3", "DPR - Civilians", "DPR", "Civilians", "OSCE", "2016-05-10", "", "4",
     "Donetsk oblast", "Donetsk oblast", "48.0", "37.8", "3", "2016-05-01", "2016-05-31", "1",
     "1", "1"],
]  # fmt: skip


def test_ucdp_import_maps_spans_precisions_and_sources(seeded: str, tmp_path: Path) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([UCDP_COLUMNS, *UCDP])
    report = run_import(seeded, write(tmp_path, "ged.csv", out.getvalue()), dataset="ucdp-ged")
    assert (report.format, report.inserted) == ("ucdp", 2)
    with client_for(seeded) as client:
        got = {f["properties"]["external_id"]: f["properties"] for f in
               client.get("/events", params={"limit": "10000"}).json()["features"]}  # fmt: skip
        avdiivka = got["190001"]
        assert (avdiivka["occurred_at"], avdiivka["occurred_until"]) == (
            "2017-01-29T00:00:00+00:00",
            "2017-02-04T00:00:00+00:00",
        )
        assert avdiivka["fatalities"] == 12 and avdiivka["place_slug"] == "avdiivka"
        assert avdiivka["location_precision"] == "exact" and avdiivka["event_type"] == "battle"
        assert {c["source"] for c in avdiivka["citations"]} == {
            "reuters",
            "interfax",
            "ucdp-georeferenced-event-dataset",
        }
        oblast = got["190002"]
        assert oblast["place_slug"] == "donetsk-oblast" and oblast["time_precision"] == "month"
        assert oblast["event_type"] == "violence_against_civilians"
        # Whole days: 3 February is in the span, 4 February is not.
        assert (
            client.get("/events", params={"datetime": "2017-02-03", "limit": "100"}).json()[
                "numberReturned"
            ]
            == 1
        )
        assert (
            client.get("/events", params={"datetime": "2017-02-04", "limit": "100"}).json()[
                "numberReturned"
            ]
            == 0
        )


def test_geojson_import(seeded: str, tmp_path: Path) -> None:
    feature = {"type": "Feature", "id": "gj-1",
               "geometry": {"type": "Point", "coordinates": [35.59, 50.83]},
               "properties": {"title": "Advance near Prilesye", "event_type": "ground_operation",
                              "occurred_at": "2025-03-20T00:00:00Z", "place": "Prilesye",
                              "location_precision": "near",
                              "citations": [{"source": "isw", "stance": "reports"}]}}  # fmt: skip
    path = write(tmp_path, "events.geojson",
                 json.dumps({"type": "FeatureCollection", "features": [feature]}))  # fmt: skip
    report = run_import(seeded, path, dataset="desk")
    assert (report.format, report.inserted) == ("geojson", 1)
    with client_for(seeded) as client:
        hit = client.get("/events", params={"q": "Advance near Prilesye"}).json()["features"]
        props = next(f["properties"] for f in hit if f["properties"]["dataset"] == "desk")
        assert props["place_slug"] == "prilesye" and props["citations"][0]["source"] == "isw"


def test_imported_citations_derive_the_verification(seeded: str, tmp_path: Path) -> None:
    """Stances decide the status of events that do not set one (README rule); a re-import
    adding a denial turns a claim into a dispute; an explicit status stays."""

    def feature(fid: str, stances: list[str], **props: str) -> dict[str, Any]:
        citations = [{"source": f"src-{i}", "stance": s} for i, s in enumerate(stances)]
        return {"type": "Feature", "id": fid,
                "geometry": {"type": "Point", "coordinates": [35.59, 50.83]},
                "properties": {"title": fid, "event_type": "ground_operation",
                               "occurred_at": "2025-03-20T00:00:00Z", "citations": citations,
                               **props}}  # fmt: skip

    def status_after(*features: dict[str, Any]) -> dict[str, str]:
        doc = {"type": "FeatureCollection", "features": list(features)}
        run_import(seeded, write(tmp_path, "v.geojson", json.dumps(doc)), dataset="desk")
        with client_for(seeded) as client:
            page = client.get("/events", params={"q": "gj", "limit": "100"}).json()
        return {f["properties"]["title"]: f["properties"]["verification"]
                for f in page["features"]}  # fmt: skip

    first = [feature("gj-plain", ["reports"]), feature("gj-claim", ["claims"]),
             feature("gj-set", ["claims"], verification="confirmed")]  # fmt: skip
    assert status_after(*first) == {
        "gj-plain": "unverified",
        "gj-claim": "claimed",
        "gj-set": "confirmed",
    }
    again = [first[0], feature("gj-claim", ["claims", "denies"]), first[2]]
    assert status_after(*again) == {
        "gj-plain": "unverified",
        "gj-claim": "disputed",
        "gj-set": "confirmed",
    }


@pytest.fixture
def http(seeded: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    secret = with_engine(
        seeded, lambda e: create_key(e, settings_for(seeded), "importer", Scope.WRITE)
    )
    with client_for(seeded, max_import_bytes=200_000) as client:
        yield client, {"Authorization": f"Bearer {secret}"}


def test_post_imports(http: tuple[TestClient, dict[str, str]], seeded: str) -> None:
    client, auth = http
    body = gzip.compress(acled_csv(ACLED).encode())
    ok = client.post("/imports?dataset=acled", content=body,
                     headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert ok.json()["inserted"] == 5
    before = dump_tables(seeded)
    bad = client.post("/imports?dataset=acled", content=acled_csv([*ACLED, BAD_ROWS[1][0]]),
                      headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["errors"] == [
        {"line": 7, "column": "event_date", "message": "'18/03/2025' is not a date (YYYY-MM-DD)"}
    ]
    assert problem["report"]["written"] is False
    huge = client.post("/imports?dataset=acled", content=b"x" * 300_000,
                       headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert huge.status_code == 413
    junk = client.post("/imports?dataset=acled", content=b"hello,world\n1,2\n",
                       headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert junk.status_code == 422
    assert junk.json()["detail"].startswith("body: not an ACLED-style CSV")
    assert dump_tables(seeded) == before


@pytest.mark.parametrize(("query", "message"), [
    ("format=acled", "body: not ACLED CSV: no column event_id_cnty, event_date, event_type, "
                     "latitude, longitude (its columns: hello, world)"),
    ("format=ucdp", "body: not UCDP CSV: no column id, date_start, type_of_violence, latitude, "
                    "longitude (its columns: hello, world)"),
    ("mapping=ucdp_ged", "body: not UCDP CSV: no column id, date_start, type_of_violence, "
                         "latitude, longitude (its columns: hello, world)"),
])  # fmt: skip
def test_a_file_of_another_format_is_refused_not_read_as_no_rows(
    http: tuple[TestClient, dict[str, str]], seeded: str, query: str, message: str
) -> None:
    # It was "written": true with 0 rows: an analyst's wrong file looked like a success.
    client, auth = http
    before = dump_tables(seeded)
    response = client.post(f"/imports?dataset=acled&{query}", content=b"hello,world\n1,2\n",
                           headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert response.status_code == 422
    assert response.json()["detail"] == message
    assert dump_tables(seeded) == before


def test_a_mapping_is_a_shipped_name_never_a_path(http: tuple[TestClient, dict[str, str]]) -> None:
    client, auth = http
    response = client.post("/imports?dataset=acled&mapping=../mappings/ucdp_ged", content=b"a\n",
                           headers={**auth, "Content-Type": "text/csv"})  # fmt: skip
    assert response.status_code == 400
    assert response.json()["detail"].startswith("mapping: no mapping '../mappings/ucdp_ged'")


def test_cli_import(seeded: str, tmp_path: Path) -> None:
    path = write(tmp_path, "acled.csv", acled_csv([*ACLED, BAD_ROWS[0][0]]))
    env = {**os.environ, "DATABASE_URL": seeded}
    command = [sys.executable, "-m", "app.cli", "import", str(path), "--dataset", "acled"]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert refused.returncode == 1
    assert "line 7: latitude/longitude: Value error, latitude 95" in refused.stderr
    assert "6 rows: 0 inserted, 0 updated, 0 unchanged, 1 rejected; nothing was written" in (
        refused.stderr
    )
    kept = subprocess.run([*command, "--partial"], capture_output=True, text=True, env=env,
                          check=False)  # fmt: skip
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip() == "6 rows: 5 inserted, 0 updated, 0 unchanged, 1 rejected"


def test_a_secondary_date_that_does_not_parse_keeps_the_row(seeded: str, tmp_path: Path) -> None:
    """A spreadsheet-style publication date (23/09/2022) is provenance, not a core field: the
    rows import, the date stays as text in the citation's excerpt, the report warns."""
    rows = [[*UCDP[0][:6], "01/02/2017;2017-02-02", *UCDP[0][7:]],
            [*UCDP[1][:6], "23/09/2022", *UCDP[1][7:]]]  # fmt: skip
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([UCDP_COLUMNS, *rows])
    report = run_import(seeded, write(tmp_path, "ged.csv", out.getvalue()), dataset="ucdp-ged")
    assert (report.inserted, report.rejected_count, report.warning_count) == (2, 0, 2)
    reason = "{!r} is not a date (YYYY-MM-DD); kept as text"
    assert report.warnings == [
        {"line": 2, "column": "source_date", "reason": reason.format("01/02/2017")},
        {"line": 3, "column": "source_date", "reason": reason.format("23/09/2022")},
    ]
    sql = ("SELECT s.slug, es.published_at IS NULL, es.excerpt FROM event_sources es "
           "JOIN sources s ON s.id = es.source_id JOIN events e ON e.id = es.event_id "
           "WHERE e.external_id = '190001' ORDER BY s.slug")  # fmt: skip
    cited = execute(seeded, sql)
    assert [tuple(c) for c in cited or []] == [
        ("interfax", False, None),
        ("reuters", True, "published 01/02/2017"),
        ("ucdp-georeferenced-event-dataset", True, UCDP[0][7]),
    ]
