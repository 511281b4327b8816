"""The /map page in a real headless Chromium (Debian's `chromium`, driven by Playwright):
it loads without console errors, draws the seeded events, follows the date range, flies to a
place found by any spelling and pops up an event's sources. A screenshot is kept in
test-artifacts/."""

import json
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.bodies import EventCreate
from app.domain.vocab import Scope
from app.ingest.seed import seed
from app.services import merges, writes
from app.services.keys import Principal
from app.store import devdb
from tests.conftest import live_server, scratch_database

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
# SwiftShader gives WebGL without a GPU; nothing may reach the network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def server(seeded_url: str) -> Iterator[str]:
    if not (ROOT / "app/web/static/vendor/maplibre-gl.mjs").is_file():
        subprocess.run(["/bin/bash", str(ROOT / "scripts/ensure-web.sh")], check=True, timeout=600)
    if not Path(CHROMIUM).is_file():
        pytest.fail("Chromium is missing: run scripts/ensure-test-tools.sh (make test does)")
    with live_server(seeded_url) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


class MapPage:
    """One tab on /map, collecting every console error and uncaught exception."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        self.settle()

    def settle(self) -> None:
        """Wait until the map has stopped moving and every tile is drawn."""
        self.page.wait_for_function(
            "() => { const m = window.frontline.map;"
            " return !m.isMoving() && m.loaded() && m.areTilesLoaded(); }",
            timeout=30_000,
        )

    def shown_ids(self) -> set[int]:
        ids: list[int] = self.page.evaluate(
            "() => window.frontline.map.queryRenderedFeatures({layers: ['events']})"
            ".map(f => f.properties.id)"
        )
        return set(ids)

    def click_at(self, lon: float, lat: float) -> None:
        """Click the map where it draws this point."""
        x, y = self.page.evaluate(
            "(lonLat) => { const p = window.frontline.map.project(lonLat); return [p.x, p.y]; }",
            [lon, lat],
        )
        box = self.page.locator("#map").bounding_box()
        assert box is not None
        self.page.mouse.click(box["x"] + x, box["y"] + y)

    def evaluate(self, script: str) -> Any:
        return self.page.evaluate(script)


@pytest.fixture
def map_page(browser: Browser) -> Iterator[MapPage]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = MapPage(context.new_page())
    yield page
    context.close()


def fetch(url: str) -> tuple[dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (our own server)
        return {k.lower(): v for k, v in response.headers.items()}, response.read()


def api(server: str, path: str, **params: str) -> Any:
    query = f"?{urllib.parse.urlencode(params)}" if params else ""
    return json.loads(fetch(f"{server}{path}{query}")[1])


def event_ids(server: str, **params: str) -> set[int]:
    return {f["id"] for f in api(server, "/events", limit="1000", **params)["features"]}


def test_map_shows_the_seeded_events_without_errors(server: str, map_page: MapPage) -> None:
    headers, _ = fetch(f"{server}/map")
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe" not in csp
    map_page.open(f"{server}/map")
    assert map_page.shown_ids() == event_ids(server)
    assert map_page.page.text_content("#status") == "11 events match these filters"
    assert map_page.evaluate("document.querySelectorAll('#timeline rect.bar').length") > 0
    regions = map_page.evaluate(
        "window.frontline.map.querySourceFeatures('regions').map(f => f.properties.slug)"
    )
    assert "belgorod-oblast" in regions
    # Natural Earth's outlines under the regions, served from this origin (no tile server).
    assert map_page.evaluate("window.frontline.map.getSource('countries').type") == "geojson"
    _, body = fetch(f"{server}/static/vendor/countries.geojson")
    names = {f["properties"]["name"] for f in json.loads(body)["features"]}
    assert {"Ukraine", "Russia", "Belarus", "Poland"} <= names
    assert "#map=" in map_page.evaluate("location.hash")
    ARTIFACTS.mkdir(exist_ok=True)
    map_page.page.screenshot(path=str(ARTIFACTS / "map.png"))
    assert map_page.errors == []


def test_moving_the_time_range_changes_what_is_shown(server: str, map_page: MapPage) -> None:
    map_page.open(f"{server}/map")
    everything = map_page.shown_ids()
    map_page.page.fill("#date-from", "2025-03-18")
    map_page.page.fill("#date-to", "2025-03-20")
    map_page.page.dispatch_event("#date-to", "change")
    expected = event_ids(server, datetime="2025-03-18/2025-03-20")
    assert 0 < len(expected) < len(everything)
    # Two filter changes reload the tiles twice: wait for the final set itself, not its size,
    # since tiles of the first reload can still be drawn after the count passed through n.
    map_page.page.wait_for_function(
        "ids => { const m = window.frontline.map; if (m.isMoving() || !m.areTilesLoaded())"
        " return false; const shown = [...new Set(m.queryRenderedFeatures({layers: ['events']})"
        ".map(f => f.properties.id))].sort((a, b) => a - b);"
        " return JSON.stringify(shown) === JSON.stringify(ids); }",
        arg=sorted(expected),
        timeout=30_000,
    )
    map_page.settle()
    assert map_page.shown_ids() == expected
    assert "datetime=2025-03-18/2025-03-20" in map_page.evaluate("location.hash")
    assert map_page.evaluate("document.querySelectorAll('#timeline rect.bar.in').length") > 0
    # The state is in the URL: opening it again shows the same selection.
    url = map_page.evaluate("location.href")
    map_page.open(url)
    assert map_page.shown_ids() == expected
    assert map_page.page.input_value("#date-from") == "2025-03-18"
    assert map_page.errors == []


def test_search_by_another_spelling_flies_to_the_place(server: str, map_page: MapPage) -> None:
    map_page.open(f"{server}/map#map=5/48/30")
    map_page.page.fill("#search-q", "Demydivka")
    map_page.page.wait_for_selector("#search-hits li", timeout=10_000)
    assert "Demidovka" in (map_page.page.text_content("#search-hits li") or "")
    map_page.page.press("#search-q", "Enter")
    map_page.page.wait_for_function("() => window.frontline.map.getZoom() > 11.5", timeout=30_000)
    map_page.settle()
    lon, lat = api(server, "/places/demidovka")["geometry"]["coordinates"]
    centre = map_page.evaluate("window.frontline.map.getCenter().toArray()")
    assert centre == pytest.approx([lon, lat], abs=1e-3)
    assert map_page.errors == []


def test_click_opens_a_popup_with_the_sources(server: str, map_page: MapPage) -> None:
    place = api(server, "/places/demidovka")
    lon, lat = place["geometry"]["coordinates"]
    map_page.open(f"{server}/map#map=11/{lat}/{lon}")
    map_page.click_at(lon, lat)
    map_page.page.wait_for_selector(".maplibregl-popup .event .sources li", timeout=15_000)
    popup = map_page.page.locator(".maplibregl-popup")
    text = popup.inner_text()
    demidovka = api(server, "/events", place="demidovka")["features"]
    assert demidovka
    for feature in demidovka:
        assert feature["properties"]["title"] in text
        full = api(server, f"/events/{feature['id']}")
        for citation in full["properties"]["citations"]:
            assert citation["source_name"] in text
            assert citation["stance"] in text
    assert "precision: day" in text
    assert "Demidovka" in text
    map_page.settle()
    map_page.page.screenshot(path=str(ARTIFACTS / "map-popup.png"))
    assert map_page.errors == []


async def _two_reports_merged(engine: AsyncEngine) -> tuple[int, int]:
    """Two datasets' reports of one strike on Sumy, merged: (survivor, merged)."""
    await seed(engine)
    who = Principal("desk", frozenset({Scope.WRITE}))
    body = {"title": "Missile strike on Sumy", "event_type": "missile_strike",
            "occurred_at": "2025-05-02T09:00:00Z", "place": "sumy",  # 12 km off the seeded one
            "geometry": {"type": "Point", "coordinates": [34.62, 50.87]}}  # fmt: skip
    first = await writes.create_event(engine, EventCreate.model_validate({
        **body, "dataset": "desk-a", "external_id": "1",
        "citations": [{"source": "ua-emergency-service", "stance": "reports"}]}), who)  # fmt: skip
    second = await writes.create_event(engine, EventCreate.model_validate({
        **body, "dataset": "desk-b", "external_id": "1",
        "citations": [{"source": "reuters", "stance": "reports", "url": "https://example.org/r"},
                      {"source": "ru-mod", "stance": "denies"}]}), who)  # fmt: skip
    await merges.merge_events(engine, first.id, second.id, (None, None), who)
    return first.id, second.id


def test_a_merged_events_popup_lists_every_source_with_its_stance(
    cluster: devdb.Cluster, map_page: MapPage
) -> None:
    # Playwright runs an event loop in this thread: the database is filled from another.
    with ThreadPoolExecutor(1) as pool:
        made = pool.submit(scratch_database, cluster, "map_merge", _two_reports_merged).result()
        url, (survivor, gone) = pool.submit(made.__enter__).result()
    try:
        _check_merged_popup(map_page, url, survivor, gone)
    finally:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(made.__exit__, None, None, None).result()


def _check_merged_popup(map_page: MapPage, url: str, survivor: int, gone: int) -> None:
    with live_server(url) as base:
        lon, lat = api(base, f"/events/{survivor}")["geometry"]["coordinates"]
        map_page.open(f"{base}/map#map=11/{lat}/{lon}")
        shown = map_page.shown_ids()
        assert survivor in shown and gone not in shown  # the merged report is not drawn twice
        map_page.click_at(lon, lat)
        map_page.page.wait_for_selector(".maplibregl-popup .event .sources li", timeout=15_000)
        section = f'.maplibregl-popup .event[data-event-id="{survivor}"]'
        items = map_page.page.locator(f"{section} .sources li").all_inner_texts()
        assert len(items) == 3
        cited = api(base, f"/events/{survivor}")["properties"]["citations"]
        for citation in cited:
            line = next(item for item in items if citation["source_name"] in item)
            assert citation["stance"] in line
            assert (f"merged from #{gone}" in line) == (citation["merged_from"] == gone)
        assert "disputed" in map_page.page.locator(section).inner_text()
        assert map_page.errors == []
