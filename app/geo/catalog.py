"""OGC API – Features metadata documents: landing page, conformance, collections, queryables.

Pure builders: they take a base URL and the data's extents and return plain dicts.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.vocab import (
    CRS84,
    EventType,
    LocationPrecision,
    PlaceKind,
    TimePrecision,
    Verification,
    values,
)

GREGORIAN = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
TILESETS_VECTOR = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
TILING_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    # Part 3 filtering and the CQL2 classes the events' `filter` evaluates (app.domain.cql).
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    # The same class under its draft name, which QGIS up to 3.40 looks for.
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/array-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
]


@dataclass(frozen=True)
class Extent:
    bbox: tuple[float, float, float, float] | None
    start: datetime | None = None
    end: datetime | None = None


COLLECTIONS = {
    "events": (
        "Conflict events",
        "Dated conflict events tied to named places, with their sources, each source's stance "
        "and a verification status.",
    ),
    "places": (
        "Places",
        "The gazetteer: countries, regions, districts and settlements with every known spelling.",
    ),
}


def link(href: str, rel: str, media: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media, "title": title}


def landing(base: str) -> dict[str, Any]:
    return {
        "title": "Frontline",
        "description": "Conflict events tied to named places, as GeoJSON and OGC API – Features.",
        "links": [
            link(f"{base}/", "self", JSON, "This document"),
            link(f"{base}/?f=html", "alternate", HTML, "This document as HTML"),
            link(
                f"{base}/openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "The API definition",
            ),
            link(f"{base}/docs", "service-doc", HTML, "The API documentation"),
            link(f"{base}/conformance", "conformance", JSON, "Conformance classes"),
            link(f"{base}/collections", "data", JSON, "The collections"),
            link(f"{base}/tileMatrixSets?f=json", TILING_SCHEMES, JSON, "Tile matrix sets"),
            link(f"{base}/map", "related", HTML, "The events on a map"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


ODBL = "https://opendatacommons.org/licenses/odbl/1-0/"
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
MIT = "https://opensource.org/license/mit"
# What each collection's data owes to whom (seeds/README.md, seeds/open-data/README.md).
ATTRIBUTION = {
    "events": (
        "Every event cites its own sources. Open data loaded by `make demo`: UCDP GED (CC BY "
        "4.0; Sundberg & Melander 2013, Davies, Pettersson & Öberg 2023) and the Ukrainian "
        "air-raid alert tables of Vadimkin/ukrainian-air-raid-sirens-dataset (MIT; the volunteer "
        "alerts credit eTryvoga).",
        [(CC_BY, "UCDP GED: CC BY 4.0"), (MIT, "Air-raid alert tables: MIT")],
    ),
    "places": (
        "Regions: geoBoundaries gbOpen ADM1 (ODbL 1.0), © OpenStreetMap contributors; "
        "settlements: GeoNames (CC BY 4.0).",
        [(ODBL, "Region boundaries: ODbL 1.0"), (CC_BY, "GeoNames: CC BY 4.0")],
    ),
}


def collection(base: str, collection_id: str, extent: Extent) -> dict[str, Any]:
    title, description = COLLECTIONS[collection_id]
    attribution, licences = ATTRIBUTION[collection_id]
    url = f"{base}/collections/{collection_id}"
    doc: dict[str, Any] = {
        "id": collection_id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [list(extent.bbox or (-180, -90, 180, 90))], "crs": CRS84}},
        "links": [
            link(url, "self", JSON, "This collection"),
            link(f"{url}?f=html", "alternate", HTML, "This collection as HTML"),
            link(f"{url}/items", "items", GEOJSON, "The items as GeoJSON"),
            link(f"{url}/items?f=html", "items", HTML, "The items as HTML"),
            link(
                f"{url}/queryables",
                "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "application/schema+json",
                "Queryable properties",
            ),
            *(link(href, "license", HTML, text) for href, text in licences),
        ],
        "attribution": attribution,
    }
    if collection_id == "events":
        doc["links"].append(link(f"{url}/items?f=csv", "items", "text/csv", "The items as CSV"))
        doc["links"].append(
            link(f"{url}/tiles?f=json", TILESETS_VECTOR, JSON, "Vector tilesets (OGC API - Tiles)")
        )
        doc["extent"]["temporal"] = {
            "interval": [[_iso(extent.start), _iso(extent.end)]],
            "trs": GREGORIAN,
        }
    return doc


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def collections(base: str, extents: dict[str, Extent]) -> dict[str, Any]:
    return {
        "collections": [collection(base, cid, extents[cid]) for cid in COLLECTIONS],
        "links": [link(f"{base}/collections", "self", JSON, "The collections")],
    }


def _enum(description: str, options: list[str]) -> dict[str, Any]:
    return {"type": "string", "enum": options, "description": description}


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _texts(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def queryables(base: str, collection_id: str) -> dict[str, Any]:
    """JSON Schema of the properties that can filter items, time marked as the primary interval."""
    if collection_id == "events":
        # Every CQL2 queryable of app.domain.cql.EVENT_QUERYABLES, typed as `filter` reads it.
        properties: dict[str, Any] = {
            # QGIS finds the geometry by a `$ref` into geojson.org's schemas.
            "geometry": {
                "$ref": "https://geojson.org/schema/Point.json",
                "format": "geometry-point",
                "x-ogc-role": "primary-geometry",
            },
            "title": _text("Headline of the event."),
            "description": _text("What happened, as reported."),
            "sub_event_type": _text("Finer kind of event, as the dataset names it."),
            "occurred_at": {
                "type": "string",
                "format": "date-time",
                "x-ogc-role": "primary-interval-start",
                "description": "Start of the event (query with `datetime`).",
            },
            "occurred_until": {
                "type": "string",
                "format": "date-time",
                "x-ogc-role": "primary-interval-end",
                "description": "End of the event; absent for an instant.",
            },
            "event_type": _enum("Kind of event (`event_type`).", values(EventType)),
            "verification": _enum("Verification status (`verification`).", values(Verification)),
            "time_precision": _enum("Precision of the time.", values(TimePrecision)),
            "location_precision": _enum("Precision of the point.", values(LocationPrecision)),
            "fatalities": {
                "type": "integer",
                "minimum": 0,
                "description": "Reported deaths (`min_fatalities`).",
            },
            "source_count": {"type": "integer", "minimum": 0, "description": "Citations."},
            "place_slug": _text("The place (`place`)."),
            "dataset": _text("The dataset the event came from."),
            "external_id": _text("The event's id in its dataset."),
            "actors": _texts("Actors (`actor`)."),
            "tags": _texts("Free tags."),
            "created_at": {
                "type": "string",
                "format": "date-time",
                "description": "When Frontline first recorded it.",
            },
            "updated_at": {
                "type": "string",
                "format": "date-time",
                "description": "Last change (`updated_since`).",
            },
        }
    else:
        properties = {
            "geometry": {"format": "geometry-point", "x-ogc-role": "primary-geometry"},
            "kind": _enum("Kind of place (`kind`).", values(PlaceKind)),
            "country_code": {"type": "string", "description": "ISO 3166-1 alpha-2 (`country`)."},
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base}/collections/{collection_id}/queryables",
        "type": "object",
        "title": COLLECTIONS[collection_id][0],
        "properties": properties,
        "additionalProperties": False,
    }
