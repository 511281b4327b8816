"""Documents that describe the event tiles: TileJSON 3.0 and OGC API – Tiles tilesets.

Pure builders: a base URL, the query string of the filters and the data's extent in, dicts out.
"""

from typing import Any

from app.geo.tiles import EPSG_3857, MAX_ZOOM, WEB_MERCATOR_QUAD, WMQ_URI, tile_matrix_set

MVT = "application/vnd.mapbox-vector-tile"
JSON = "application/json"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILEJSON_MAX_ZOOM = 16  # deeper views overzoom these tiles; requests up to MAX_ZOOM still work

POINT_FIELDS = {
    "id": "Number: the event id (also the feature id); /events/{id} has its citations",
    "title": "String",
    "event_type": "String: battle, shelling, incursion, …",
    "verification": "String: unverified, claimed, disputed, corroborated, confirmed, refuted",
    "occurred_at": "String: RFC 3339 start (UTC)",
    "occurred_until": "String: RFC 3339 end (UTC); absent for an instant",
    "time_precision": "String: minute, hour, day, week, month, year",
    "place_name": "String: the named place the event is tied to",
    "source_count": "Number: how many citations the event has",
    "fatalities": "Number: reported deaths; absent when unknown",
}
CELL_FIELDS = {
    "count": "Number: matching events in the cell",
    "fatalities": "Number: sum of the reported deaths; absent when none is reported",
    "first_at": "String: earliest start in the cell (UTC)",
    "last_at": "String: latest start in the cell (UTC)",
}
LAYERS = (
    ("events", "The matching events as points, when a tile holds few enough", POINT_FIELDS),
    ("event_cells", "Counts per grid cell, for tiles that would hold too many", CELL_FIELDS),
)


def _with_query(url: str, query: str) -> str:
    return f"{url}?{query}" if query else url


def tilejson(
    base: str, query: str, bounds: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    """TileJSON 3.0.0 for the event tiles; the filters in ``query`` go into the tile URL."""
    west, south, east, north = bounds or (-180.0, -85.0511, 180.0, 85.0511)
    return {
        "tilejson": "3.0.0",
        "name": "Frontline events",
        "description": "Conflict events as Mapbox vector tiles; the filters are those of /events.",
        "scheme": "xyz",
        "tiles": [_with_query(f"{base}/tiles/events/{{z}}/{{x}}/{{y}}.mvt", query)],
        "minzoom": 0,
        "maxzoom": TILEJSON_MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, 5],
        "vector_layers": [
            {
                "id": layer,
                "description": text,
                "minzoom": 0,
                "maxzoom": TILEJSON_MAX_ZOOM,
                "fields": fields,
            }
            for layer, text, fields in LAYERS
        ],
    }


def _tileset_summary(base: str, query: str) -> dict[str, Any]:
    url = f"{base}/collections/events/tiles/{WEB_MERCATOR_QUAD}"
    return {
        "title": "Conflict events (vector tiles, WebMercatorQuad)",
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": WMQ_URI,
        "links": [
            {
                "rel": "self",
                "href": _with_query(url, query),
                "type": JSON,
                "title": "The tileset",
            },
            {
                "rel": TILING_SCHEME,
                "href": f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}",
                "type": JSON,
                "title": "The tile matrix set",
            },
        ],
    }


def tilesets(base: str, query: str) -> dict[str, Any]:
    """OGC API – Tiles: the tilesets of the events collection (one, in WebMercatorQuad)."""
    return {
        "tilesets": [_tileset_summary(base, query)],
        "links": [
            {
                "rel": "self",
                "href": _with_query(f"{base}/collections/events/tiles", query),
                "type": JSON,
                "title": "The event tilesets",
            },
        ],
    }


def tileset(base: str, query: str) -> dict[str, Any]:
    """OGC API – Tiles: the WebMercatorQuad tileset of the events, with its tile template."""
    doc = _tileset_summary(base, query)
    url = f"{base}/collections/events/tiles/{WEB_MERCATOR_QUAD}"
    template = url + "/{tileMatrix}/{tileRow}/{tileCol}"
    doc["links"].append(
        {
            "rel": "item",
            "href": _with_query(template, query),
            "type": MVT,
            "templated": True,
            "title": "A tile of the events",
        }
    )
    doc["layers"] = [
        {
            "id": layer,
            "description": text,
            "dataType": "vector",
            "geometryDimension": 0,
            "minTileMatrix": "0",
            "maxTileMatrix": str(MAX_ZOOM),
            "propertiesSchema": {
                "type": "object",
                "properties": {name: {"description": meaning} for name, meaning in fields.items()},
            },
        }
        for layer, text, fields in LAYERS
    ]
    return doc


def tile_matrix_sets(base: str) -> dict[str, Any]:
    return {
        "tileMatrixSets": [
            {
                "id": WEB_MERCATOR_QUAD,
                "title": tile_matrix_set()["title"],
                "uri": WMQ_URI,
                "links": [
                    {
                        "rel": "self",
                        "href": f"{base}/tileMatrixSets/{WEB_MERCATOR_QUAD}",
                        "type": JSON,
                        "title": "The tile matrix set",
                    },
                ],
            }
        ]
    }
