"""The map page's HTML, CSP and the links into it from the HTML collection pages."""

from urllib.parse import parse_qsl

from app.settings import Settings
from app.web import html
from app.web.routers.webmap import basemap_origin, map_csp, render_map_page

POINTS = [
    {"type": "Feature", "id": 1, "geometry": {"type": "Point", "coordinates": [35.2, 51.1]},
     "properties": {}},
    {"type": "Feature", "id": 2, "geometry": {"type": "Point", "coordinates": [36.5, 50.6]},
     "properties": {}},
]  # fmt: skip


def hash_params(href: str) -> dict[str, str]:
    assert href.startswith("/map#")
    return dict(parse_qsl(href.removeprefix("/map#")))


def test_events_page_links_to_the_map_with_its_filters() -> None:
    links = [{"rel": "self", "href": "http://x/events?datetime=2025-03-01/2025-03-31"
              "&verification=claimed&limit=5&f=html&cursor=abc"}]  # fmt: skip
    params = hash_params(html.map_href(links, POINTS))
    assert params == {
        "datetime": "2025-03-01/2025-03-31",
        "verification": "claimed",
        "bbox": "35.2,50.6,36.5,51.1",
    }
    doc = {"type": "FeatureCollection", "features": POINTS, "numberReturned": 2, "links": links}
    assert 'href="/map#datetime=2025-03-01/2025-03-31&amp;' in html.feature_collection_page(
        "Events", doc
    )


def test_places_page_links_to_the_map_framed_on_the_places() -> None:
    links = [{"rel": "self", "href": "http://x/collections/places/items?kind=region&f=html"}]
    assert hash_params(html.map_href(links, POINTS)) == {"bbox": "35.2,50.6,36.5,51.1"}
    assert html.map_href(links, []) == "/map#"


def test_map_page_csp_is_self_only_unless_a_basemap_is_set() -> None:
    plain = map_csp(Settings())
    assert "script-src 'self'" in plain and "worker-src 'self'" in plain
    assert "unsafe" not in plain and "http" not in plain
    settings = Settings(map_basemap_url="https://tiles.example.org/{z}/{x}/{y}.png")
    assert "connect-src 'self' https://tiles.example.org" in map_csp(settings)
    assert basemap_origin("javascript:alert(1)") == ""


def test_map_page_escapes_the_settings() -> None:
    settings = Settings(
        map_basemap_url='https://t.example/"><script>', map_basemap_attribution="<b>"
    )
    page = render_map_page(settings)
    assert "<script>" not in page.split("<head>")[0]
    assert 'data-basemap="https://t.example/&quot;&gt;&lt;script&gt;"' in page
    assert 'data-basemap-attribution="&lt;b&gt;"' in page
