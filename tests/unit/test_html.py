"""HTML pages: every value escaped, links kept in HTML, features sketched where they are."""

import re

from app.web import html

FEATURE = {
    "type": "Feature",
    "id": 7,
    "geometry": {"type": "Point", "coordinates": [35.2726, 51.1976]},
    "properties": {"title": "<script>alert(1)</script> Суджа", "tags": ["a&b"], "fatalities": None},
}
SQUARE = {
    "type": "Feature",
    "id": 8,
    "geometry": {"type": "Polygon", "coordinates": [[[35, 50], [36, 50], [36, 51], [35, 50]]]},
    "properties": {"name": "Square"},
}
LINKS = [
    {"href": "http://x/events?bbox=1,2,3,4", "rel": "self", "title": "This page"},
    {"href": "http://x/events?cursor=abc&f=html", "rel": "next", "title": "Next page"},
]


def page() -> str:
    doc = {"type": "FeatureCollection", "features": [FEATURE, SQUARE], "links": LINKS,
           "numberReturned": 2, "numberMatched": 9}  # fmt: skip
    return html.feature_collection_page("Events", doc)


def test_values_are_escaped_and_no_script_gets_through() -> None:
    text = page()
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Суджа" in text
    assert "&quot;a&amp;b&quot;" in text


def test_links_stay_in_html_and_items_link_to_their_page() -> None:
    text = page()
    assert 'href="http://x/events?bbox=1,2,3,4&amp;f=html"' in text
    assert 'href="http://x/events?cursor=abc&amp;f=html"' in text
    assert 'href="/events/7?f=html"' in text
    assert "2 features of 9" in text


def test_sketch_places_points_inside_the_drawing() -> None:
    svg = html.svg_sketch([FEATURE, SQUARE])
    width, height = map(float, re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())  # type: ignore[union-attr]
    cx, cy = (float(v) for v in re.search(r'cx="(\S+)" cy="(\S+)"', svg).groups())  # type: ignore[union-attr]
    assert 0 < cx < width and 0 < cy < height
    assert svg.count("<path") == 1 and svg.count("<circle") == 1


def test_no_geometry_no_sketch() -> None:
    assert html.svg_sketch([{"id": 1, "geometry": None, "properties": {}}]) == ""


def test_feature_page_lists_every_property() -> None:
    text = html.feature_page("Event 7", FEATURE)
    for key in FEATURE["properties"]:  # type: ignore[attr-defined]
        assert f"<code>{key}</code>" in text
