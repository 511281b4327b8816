"""Gazetteer: every spelling finds the right place; names resolve the same way everywhere."""

import json

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from app.ingest.seed import SEEDS_DIR

# What analysts type, and the place they mean (first hit). Latin, Cyrillic, transliteration
# variants, missing diacritics, case, and small typos.
SEARCHES = [
    ("Demidovka", "demidovka"), ("demidovka", "demidovka"), ("DEMIDOVKA", "demidovka"),
    ("Demydivka", "demidovka"), ("Демидовка", "demidovka"), ("Демидівка", "demidovka"),
    ("Demidowka", "demidovka"), ("Demidovca", "demidovka"), ("Demidofka", "demidovka"),
    ("Prilesye", "prilesye"), ("Prylissia", "prilesye"), ("Прилесье", "prilesye"),
    ("Прилісся", "prilesye"), ("Prilesie", "prilesye"), ("Prilesje", "prilesye"),
    ("Sudzha", "sudzha"), ("sudža", "sudzha"), ("Sudzah", "sudzha"), ("Суджа", "sudzha"),
    ("Sudja", "sudzha"), ("Sudsha", "sudzha"), ("Sudzha ", "sudzha"),
    ("Kursk", "kursk"), ("Курск", "kursk"), ("Курськ", "kursk"), ("Kurks", "kursk"),
    ("Belgorod", "belgorod"), ("Bilhorod", "belgorod"), ("Белгород", "belgorod"),
    ("Бєлгород", "belgorod"), ("Sumy", "sumy"), ("Суми", "sumy"), ("Сумы", "sumy"),
    ("Kharkiv", "kharkiv"), ("Kharkov", "kharkiv"), ("Харків", "kharkiv"),
    ("Харьков", "kharkiv"), ("Charkiw", "kharkiv"), ("Kupyansk", "kupiansk"),
    ("Куп'янськ", "kupiansk"), ("Kupiansk", "kupiansk"), ("Vovchansk", "vovchansk"),
    ("Волчанск", "vovchansk"), ("Volchansk", "vovchansk"), ("Artemivsk", "bakhmut"),
    ("Бахмут", "bakhmut"), ("Avdeyevka", "avdiivka"), ("Авдіївка", "avdiivka"),
    ("Zaporozhye", "zaporizhzhia"), ("Запоріжжя", "zaporizhzhia"), ("Zaporizhia", "zaporizhzhia"),
    ("Korenevo", "korenevo"), ("Коренево", "korenevo"), ("Krasnaya Yaruga", "krasnaya-yaruga"),
    ("Красная Яруга", "krasnaya-yaruga"), ("Kursk Oblast", "kursk-oblast"),
    ("Курская область", "kursk-oblast"), ("Sumska oblast", "sumy-oblast"),
    ("Kharkivska oblast", "kharkiv-oblast"), ("Zaporizka oblast", "zaporizhzhia-oblast"),
    ("Россия", "russia"), ("Україна", "ukraine"), ("Ukraina", "ukraine"),
    ("Sudzhansky District", "sudzhansky-district"), ("Суджанский район", "sudzhansky-district"),
]  # fmt: skip


def search(client: TestClient, q: str, **params: str) -> list[dict[str, object]]:
    response = client.get("/places/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    features: list[dict[str, object]] = response.json()["features"]
    return features


def slugs(features: list[dict[str, object]]) -> list[str]:
    return [f["properties"]["slug"] for f in features]  # type: ignore[index]


@pytest.mark.parametrize(("typed", "expected"), SEARCHES)
def test_any_spelling_finds_the_place(seeded_client: TestClient, typed: str, expected: str) -> None:
    hits = search(seeded_client, typed, limit="3")
    assert hits and slugs(hits)[0] == expected, (typed, slugs(hits))


def test_table_is_big_enough() -> None:
    assert len(SEARCHES) >= 40
    assert len({expected for _, expected in SEARCHES}) >= 20


def test_hits_carry_admin_path_matched_name_and_score(seeded_client: TestClient) -> None:
    first = search(seeded_client, "Демидівка")[0]["properties"]
    assert first["admin_path"] == (  # type: ignore[index]
        "Demidovka, Krasnoyaruzhsky District, Belgorod Oblast, Russia"
    )
    assert first["matched_name"] == "Демидівка" and first["score"] == 1  # type: ignore[index]


def test_a_shared_name_lists_both_places_with_their_paths(seeded_client: TestClient) -> None:
    hits = search(seeded_client, "Donetsk", kind="settlement")
    paths = [h["properties"]["admin_path"] for h in hits[:2]]  # type: ignore[index]
    assert paths == ["Donetsk, Donetsk Oblast, Ukraine", "Donetsk, Rostov Oblast, Russia"]


def test_ranking_prefers_exact_then_prefix_then_fuzzy(seeded_client: TestClient) -> None:
    hits = search(seeded_client, "Kharkiv")
    assert slugs(hits)[:2] == ["kharkiv", "kharkiv-oblast"]
    scores = [h["properties"]["score"] for h in hits]  # type: ignore[index]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "Donetsk", "country": "RU"}, ["donetsk-rostov"]),
        ({"q": "Donetsk", "within": "Donetsk Oblast"}, ["donetsk"]),
        ({"q": "Donetsk", "kind": "region"}, ["donetsk-oblast"]),
        ({"q": "Donetsk", "bbox": "39,47,41,49"}, ["donetsk-rostov"]),
        ({"q": "Donetsk", "near": "37.8,48.0", "radius": "10"}, ["donetsk", "donetsk-oblast"]),
    ],
)
def test_search_filters(
    seeded_client: TestClient, params: dict[str, str], expected: list[str]
) -> None:
    response = seeded_client.get("/places/search", params=params)
    assert slugs(response.json()["features"]) == expected


def test_places_q_is_the_same_search(seeded_client: TestClient) -> None:
    a = seeded_client.get("/places/search", params={"q": "Sudža", "limit": "5"}).json()
    b = seeded_client.get("/places", params={"q": "Sudža", "limit": "5"}).json()
    assert a["features"] == b["features"]


@pytest.mark.parametrize(
    ("path", "parameter", "message"),
    [
        ("/places/search", "q", "is required: the name to search for"),
        ("/places/search?q=%20", "q", "must not be empty"),
        ("/places/search?q=---", "q", "needs at least one letter or digit"),
        ("/places/search?q=x&country=RUS", "country", "'RUS' is not an ISO 3166-1 alpha-2 code"),
        ("/places/search?q=x&limit=101", "limit", "Input should be less than or equal to 100"),
        ("/places?within=Sudzha", "within", "Sudzha (sudzha) has no boundary; use place= or near="),
        ("/places?geometry=polygon", "geometry", "Input should be 'point' or 'boundary'"),
    ],
)
def test_bad_search_input(
    seeded_client: TestClient, path: str, parameter: str, message: str
) -> None:
    response = seeded_client.get(path)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0] == {"parameter": parameter, "in": "query",
                                            "message": message}  # fmt: skip


def seed_events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = json.loads((SEEDS_DIR / "events.json").read_text())["events"]
    return events


def titles(response_json: dict[str, object]) -> set[str]:
    return {f["properties"]["title"] for f in response_json["features"]}  # type: ignore[attr-defined, index]


@pytest.mark.parametrize("spelling", ["Демидовка", "Demydivka", "demidovka", "Demidowka"])
def test_events_by_any_spelling_of_their_place(seeded_client: TestClient, spelling: str) -> None:
    got = seeded_client.get("/events", params={"place": spelling}).json()
    assert titles(got) == {e["title"] for e in seed_events() if e["place"] == "demidovka"}


def test_events_of_a_district_include_its_villages(seeded_client: TestClient) -> None:
    got = seeded_client.get("/events", params={"place": "Krasnoyaruzhsky District"}).json()
    expected = {e["title"] for e in seed_events() if e["place"] in ("demidovka", "prilesye")}
    assert titles(got) == expected and len(expected) == 4


@pytest.mark.parametrize("region", ["Kursk Oblast", "kursk-oblast", "Курская область"])
def test_within_a_region_matches_a_shapely_check(seeded_client: TestClient, region: str) -> None:
    boundaries = json.loads((SEEDS_DIR / "regions.geojson").read_text())["features"]
    kursk = next(f for f in boundaries if f["properties"]["slug"] == "kursk-oblast")
    polygon = shape(kursk["geometry"])
    every = seeded_client.get("/events", params={"limit": "10000"}).json()["features"]
    expected = {f["properties"]["title"] for f in every
                if polygon.intersects(Point(f["geometry"]["coordinates"]))}  # fmt: skip
    got = seeded_client.get("/events", params={"within": region, "limit": "10000"}).json()
    assert titles(got) == expected and len(expected) >= 4


def test_ambiguous_name_lists_candidates(seeded_client: TestClient) -> None:
    response = seeded_client.get("/events", params={"place": "Донецк"})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "/problems/ambiguous-place"
    assert {c["slug"] for c in body["candidates"]} == {"donetsk", "donetsk-rostov"}
    assert body["errors"] == [{"parameter": "place", "in": "query",
                               "message": "ambiguous place name"}]  # fmt: skip


def test_unknown_name_suggests_close_spellings(seeded_client: TestClient) -> None:
    response = seeded_client.get("/events", params={"place": "Sudzhka"})
    assert response.status_code == 400
    message = response.json()["errors"][0]["message"]
    assert message.startswith("no place is called 'Sudzhka'; did you mean Sudzha (sudzha)")


def test_places_collection_serves_boundaries_on_request(seeded_client: TestClient) -> None:
    params = {"kind": "region", "geometry": "boundary", "limit": "100"}
    regions = seeded_client.get("/collections/places/items", params=params).json()["features"]
    assert len(regions) == 10
    assert {f["geometry"]["type"] for f in regions} == {"MultiPolygon"}
    points = seeded_client.get("/collections/places/items", params={"kind": "region"}).json()
    assert {f["geometry"]["type"] for f in points["features"]} == {"Point"}
