"""HTML views of the OGC documents, for people browsing the API (conformance class `html`).

Plain server-rendered pages: every value escaped, no scripts (the CSP forbids them), and an
inline SVG sketch of the features so a browser shows where they are without any map library.
"""

from collections.abc import Iterable, Iterator, Sequence
from html import escape
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

SVG_WIDTH, SVG_HEIGHT = 640, 360
MAX_TABLE_COLUMNS = 12

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1d232a}
h1{font-size:1.5rem;margin:.2rem 0 .8rem}a{color:#0b57a4}nav{font-size:.9rem;margin-bottom:.5rem}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{border-bottom:1px solid #d5dbe1;padding:.3rem .45rem;text-align:left;vertical-align:top}
th{background:#f1f4f7}code,pre{font-size:.85rem}pre{background:#f6f8fa;padding:.6rem;overflow:auto}
svg{background:#eef3f7;border:1px solid #cbd5df;max-width:100%;height:auto}
.links li{margin:.15rem 0}.muted{color:#5b6670}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)} – Frontline</title><style>{_STYLE}</style></head><body>"
        '<nav><a href="/?f=html">Frontline</a> · <a href="/collections?f=html">Collections</a>'
        ' · <a href="/docs">API docs</a></nav>'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _html_href(href: str) -> str:
    """The HTML alternate of an API link, so browsing stays in HTML."""
    if "f=" in href:
        return href
    return f"{href}{'&' if '?' in href else '?'}f=html"


def _links(links: Iterable[dict[str, str]]) -> str:
    items = "".join(
        f'<li><a href="{escape(_html_href(link["href"]))}">'
        f"{escape(link.get('title') or link['rel'])}</a>"
        f' <span class="muted">({escape(link["rel"])})</span></li>'
        for link in links
    )
    return f'<ul class="links">{items}</ul>' if items else ""


def _value(value: Any) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, dict | list):
        return f"<code>{escape(orjson.dumps(value).decode())}</code>"
    return escape(str(value))


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def landing_page(doc: dict[str, Any]) -> str:
    return _page(doc["title"], f"<p>{escape(doc['description'])}</p>{_links(doc['links'])}")


def conformance_page(doc: dict[str, Any]) -> str:
    items = "".join(f"<li><code>{escape(uri)}</code></li>" for uri in doc["conformsTo"])
    return _page("Conformance", f"<ul>{items}</ul>")


def _collection_summary(doc: dict[str, Any]) -> str:
    spatial = doc.get("extent", {}).get("spatial", {}).get("bbox", [[]])[0]
    temporal = doc.get("extent", {}).get("temporal", {}).get("interval", [[]])[0]
    rows = [
        ("Description", escape(doc.get("description", ""))),
        ("Spatial extent", _value(spatial or None)),
        ("Temporal extent", escape(" / ".join(str(t or "..") for t in temporal)) or _value(None)),
    ]
    return _table(("", ""), rows)


def collections_page(doc: dict[str, Any]) -> str:
    parts = []
    for collection in doc["collections"]:
        href = f"/collections/{escape(collection['id'])}?f=html"
        items = f"/collections/{escape(collection['id'])}/items?f=html"
        parts.append(
            f'<h2><a href="{href}">{escape(collection["title"])}</a></h2>'
            f"{_collection_summary(collection)}"
            f'<p><a href="{items}">Browse the items</a></p>'
        )
    return _page("Collections", "".join(parts))


def collection_page(doc: dict[str, Any]) -> str:
    return _page(doc["title"], _collection_summary(doc) + _links(doc["links"]))


def queryables_page(doc: dict[str, Any]) -> str:
    rows = []
    for name, schema in doc["properties"].items():
        kind = schema.get("format") or schema.get("type") or ""
        allowed = ", ".join(str(v) for v in schema.get("enum", []))
        role = schema.get("x-ogc-role", "")
        cells = (name, str(kind), role, allowed, schema.get("description", ""))
        rows.append([f"<code>{escape(name)}</code>", *(escape(c) for c in cells[1:])])
    header = ("name", "type", "role", "values", "")
    return _page(doc.get("title", "Queryables"), _table(header, rows))


def _positions(geometry: dict[str, Any] | None) -> Iterator[tuple[float, float]]:
    """Every (lon, lat) of a GeoJSON geometry, whatever its type."""
    if not geometry:
        return
    stack: list[Any] = [geometry.get("coordinates")]
    while stack:
        item = stack.pop()
        if isinstance(item, list) and item and isinstance(item[0], int | float):
            yield float(item[0]), float(item[1])
        elif isinstance(item, list):
            stack.extend(item)


def _rings(geometry: dict[str, Any]) -> Iterator[list[list[float]]]:
    if geometry["type"] == "Polygon":
        yield from geometry["coordinates"]
    elif geometry["type"] == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon


def svg_sketch(features: Sequence[dict[str, Any]]) -> str:
    """An equirectangular sketch of the features: polygons outlined, points as dots."""
    points = [p for f in features for p in _positions(f.get("geometry"))]
    if not points:
        return ""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    west, east = min(lons) - 0.05, max(lons) + 0.05
    south, north = min(lats) - 0.05, max(lats) + 0.05
    scale = min(SVG_WIDTH / (east - west), SVG_HEIGHT / (north - south))

    def x(lon: float) -> str:
        return f"{(lon - west) * scale:.1f}"

    def y(lat: float) -> str:
        return f"{(north - lat) * scale:.1f}"

    shapes = []
    for feature in features:
        geometry = feature.get("geometry") or {}
        properties = feature.get("properties") or {}
        label = escape(str(properties.get("title") or properties.get("name") or feature.get("id")))
        if geometry.get("type") in ("Polygon", "MultiPolygon"):
            path = " ".join(
                "M" + " L".join(f"{x(pos[0])},{y(pos[1])}" for pos in ring) + "Z"
                for ring in _rings(geometry)
            )
            shapes.append(
                f'<path d="{path}" fill="#9fb7cc55" stroke="#46627d"><title>{label}</title></path>'
            )
        else:
            shapes.extend(
                f'<circle cx="{x(lon)}" cy="{y(lat)}" r="4" fill="#c0392b" stroke="#fff">'
                f"<title>{label}</title></circle>"
                for lon, lat in _positions(geometry)
            )
    width, height = (east - west) * scale, (north - south) * scale
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="Sketch of the features">'
        f"{''.join(shapes)}</svg>"
    )


def _columns(features: Sequence[dict[str, Any]]) -> list[str]:
    columns: list[str] = []
    for feature in features:
        for key in feature.get("properties", {}):
            if key not in columns:
                columns.append(key)
    return columns[:MAX_TABLE_COLUMNS]


def feature_collection_page(title: str, doc: dict[str, Any]) -> str:
    features = doc["features"]
    columns = _columns(features)
    items = _items_base(doc["links"])
    rows = [
        [f'<a href="{escape(items)}/{feature["id"]}?f=html">{escape(str(feature["id"]))}</a>']
        + [_value(feature.get("properties", {}).get(c)) for c in columns]
        for feature in features
    ]
    count = f"{doc['numberReturned']} features"
    if "numberMatched" in doc:
        count += f" of {doc['numberMatched']}"
    body = (
        f'<p class="muted">{escape(count)} · '
        f'<a href="{escape(map_href(doc["links"], features))}">Open on the map</a></p>'
        f"{svg_sketch(features)}"
        f"{_table(['id', *columns], rows)}{_links(doc['links'])}"
    )
    return _page(title, body)


# /events filters the map page understands (it keeps them in its URL hash).
MAP_FILTERS = frozenset(
    {"datetime", "event_type", "verification", "place", "within", "near", "radius", "source",
     "actor", "min_fatalities", "updated_since", "q"}
)  # fmt: skip


def map_href(links: Iterable[dict[str, str]], features: Sequence[dict[str, Any]]) -> str:
    """/map showing these features: the page's event filters, framed on their extent."""
    self_href = next((link["href"] for link in links if link["rel"] == "self"), "")
    parts = urlsplit(self_href)
    events = parts.path.rstrip("/").endswith(("/events", "/collections/events/items"))
    params = [(k, v) for k, v in parse_qsl(parts.query) if events and k in MAP_FILTERS]
    points = [p for f in features for p in _positions(f.get("geometry"))]
    if points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        params.append(("bbox", f"{min(lons):g},{min(lats):g},{max(lons):g},{max(lats):g}"))
    return "/map#" + urlencode(params, safe=",/:")


def _items_base(links: Iterable[dict[str, str]]) -> str:
    """The path one item of this collection lives under: the page's own URL without a query."""
    for link in links:
        if link["rel"] == "self":
            return urlsplit(link["href"]).path.rstrip("/")
    return ""


def feature_page(title: str, feature: dict[str, Any]) -> str:
    properties = feature.get("properties", {})
    rows = [(f"<code>{escape(key)}</code>", _value(value)) for key, value in properties.items()]
    body = svg_sketch([feature]) + _table(("property", "value"), rows)
    body += _links(feature.get("links", []))
    return _page(title, body)
