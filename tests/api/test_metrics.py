"""/metrics: Prometheus text with requests by route template and status, their latency and
the pool, read back with the prometheus_client parser."""

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def _requests(method: str, route: str, status: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    labels = {"method": method, "route": route, "status": status}
    return "frontline_requests_total", tuple(sorted(labels.items()))


def test_requests_are_counted_by_route_template_and_status(seeded_client: TestClient) -> None:
    before = _samples(seeded_client)
    seeded_client.get("/events?limit=1")
    seeded_client.get("/events?limit=2")
    seeded_client.get("/events/999999")
    seeded_client.get("/events/1")
    seeded_client.get("/no/such/path/1234")
    seeded_client.get("/events?limit=nope")
    after = _samples(seeded_client)

    def grew(key: tuple[str, tuple[tuple[str, str], ...]]) -> float:
        return after.get(key, 0) - before.get(key, 0)

    assert grew(_requests("GET", "/events", "200")) == 2
    assert grew(_requests("GET", "/events", "400")) == 1
    assert grew(_requests("GET", "/events/{event_id:int}", "404")) == 1
    assert grew(_requests("GET", "/events/{event_id:int}", "200")) == 1
    assert grew(_requests("GET", "unmatched", "404")) == 1
    assert not any("/no/such" in str(labels) for _, labels in after)  # raw paths never
    count = ("frontline_request_seconds_count", (("method", "GET"), ("route", "/events")))
    assert grew(count) == 3
    pool = {labels: value for (name, labels), value in after.items()
            if name == "frontline_db_pool_connections"}  # fmt: skip
    assert set(pool) == {(("state", "idle"),), (("state", "in_use"),)}
    assert pool[(("state", "idle"),)] >= 1  # the reads above returned their connections
