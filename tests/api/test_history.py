"""The founding reports' contested episode, as history and as it was known at three times."""

import pytest
from fastapi.testclient import TestClient

from tests.api.test_writes import EVENT, Api, api  # noqa: F401  (the fixture)

DISTRICT = "Krasnoyaruzhsky District"


def event_id(client: TestClient, title: str) -> int:
    features = client.get("/events", params={"q": title, "limit": "50"}).json()["features"]
    return next(f["id"] for f in features if f["properties"]["title"] == title)


def test_the_fighting_in_demidovka_became_disputed(seeded_client: TestClient) -> None:
    fid = event_id(seeded_client, "Fighting reported inside Demidovka")
    history = seeded_client.get(f"/events/{fid}/history").json()
    first, second = history["revisions"]
    assert (first["operation"], first["changed_at"]) == ("create", "2025-03-19T15:00:00+00:00")
    assert first["changes"]["verification"] == {"from": None, "to": "unverified"}
    assert (second["operation"], second["changed_at"]) == ("update", "2025-03-20T09:00:00+00:00")
    assert second["changes"]["verification"] == {"from": "unverified", "to": "disputed"}
    stances = [c["stance"] for c in second["changes"]["citations"]["to"]]
    assert stances == ["reports", "denies"]
    assert {r["changed_by"] for r in history["revisions"]} == {"seed"}


def test_the_demidovka_events_carry_every_side(seeded_client: TestClient) -> None:
    features = seeded_client.get("/events", params={"place": "Demidovka"}).json()["features"]
    by_title = {f["properties"]["title"]: f["properties"] for f in features}
    claim = by_title["Russian MoD: attempt to cross the border at Demidovka repelled"]
    assert claim["verification"] == "claimed"
    assert claim["citations"] == [{"source": "ru-mod", "stance": "claims"}]
    fighting = by_title["Fighting reported inside Demidovka"]
    assert fighting["verification"] == "disputed"
    assert fighting["citations"] == [
        {"source": "ru-milbloggers", "stance": "reports"},
        {"source": "ru-mod", "stance": "denies"},
    ]
    isw = seeded_client.get("/events", params={"place": "Prilesye", "source": "isw"}).json()
    assert [f["properties"]["verification"] for f in isw["features"]] == ["unverified"]


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2025-03-18T09:00:00Z", {}),
        (
            "2025-03-19T16:00:00Z",
            {
                "Russian MoD: attempt to cross the border at Demidovka repelled": "claimed",
                "Russian MoD: attempt to cross the border at Prilesye repelled": "claimed",
                "Fighting reported inside Demidovka": "unverified",
            },
        ),
        (
            "2025-03-21T12:00:00Z",
            {
                "Russian MoD: attempt to cross the border at Demidovka repelled": "claimed",
                "Russian MoD: attempt to cross the border at Prilesye repelled": "claimed",
                "Fighting reported inside Demidovka": "disputed",
                "ISW: Ukrainian advance near Prilesye, not independently verified": "unverified",
            },
        ),
    ],
)
def test_as_of_answers_with_what_was_known_then(
    seeded_client: TestClient, as_of: str, expected: dict[str, str]
) -> None:
    params = {"place": DISTRICT, "as_of": as_of, "limit": "100"}
    features = seeded_client.get("/events", params=params).json()["features"]
    assert {f["properties"]["title"]: f["properties"]["verification"] for f in features} == expected


def test_as_of_on_one_event_and_its_citations(seeded_client: TestClient) -> None:
    fid = event_id(seeded_client, "Fighting reported inside Demidovka")
    then = seeded_client.get(f"/events/{fid}", params={"as_of": "2025-03-19T16:00:00Z"}).json()
    assert then["properties"]["version"] == 1
    assert [c["source"] for c in then["properties"]["citations"]] == ["ru-milbloggers"]
    early = seeded_client.get(f"/events/{fid}", params={"as_of": "2025-03-01T00:00:00Z"})
    assert early.status_code == 404
    bad = seeded_client.get(f"/events/{fid}", params={"as_of": "last week"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "as_of"


def test_as_of_ignores_later_edits_and_later_deletions(api: Api) -> None:  # noqa: F811
    location = api.create(EVENT).headers["location"]
    edit = api.client.patch(
        location,
        content='{"fatalities": 7}',
        headers=api.auth(**{"If-Match": '"1"', "Content-Type": "application/merge-patch+json"}),
    )
    assert edit.status_code == 200
    api.client.delete(location, headers=api.auth(**{"If-Match": '"2"'}))
    times = [r["changed_at"] for r in api.client.get(f"{location}/history").json()["revisions"]]
    at = dict(zip(("create", "update", "delete"), times, strict=True))
    assert (
        api.client.get(location, params={"as_of": at["create"]}).json()["properties"]["fatalities"]
        is None
    )
    assert (
        api.client.get(location, params={"as_of": at["update"]}).json()["properties"]["fatalities"]
        == 7
    )
    assert api.client.get(location, params={"as_of": at["delete"]}).status_code == 404
