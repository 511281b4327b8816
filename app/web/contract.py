"""The OpenAPI document, made exact: every parameter described as the server validates it.

FastAPI documents a query parameter by its Python type (`str | None`), which says nothing of
the grammar the parsers check. The grammar lives in app.domain.parsing as regular
expressions; this module publishes it, by parameter name, so the document and the parsers
cannot drift apart. Rules no schema can state (a range inside a text value, one value
depending on another) are written into the descriptions, and the contract test tells
schemathesis about them explicitly (tests/contract/).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.domain.bodies import SERVED_ONLY
from app.domain.parsing import (
    BBOX_PATTERN,
    DATETIME_PATTERN,
    ENTITY_TAGS_PATTERN,
    INSTANT_PATTERN,
    POINT_PATTERN,
    SOME_TEXT,
    list_pattern,
    one_of,
)
from app.domain.vocab import EventType, PlaceKind, Verification, values
from app.settings import Settings
from app.store.queries.events import EVENT_PROPERTY_NAMES, EVENT_SORTABLE
from app.store.replicas import LSN_PATTERN
from app.web.params.common import MAX_RADIUS_KM

TEXT = SOME_TEXT
CURSOR = r"^[A-Za-z0-9_-]+$"  # base64url, unpadded

# Query parameters by name: their exact schema, and what the description must add.
QUERY_SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "bbox": (
        {"pattern": BBOX_PATTERN},
        " Longitudes lie in [-180, 180], latitudes in [-90, 90], minLat ≤ maxLat; heights are "
        "finite.",
    ),
    "near": (
        {"pattern": POINT_PATTERN},
        " Longitude in [-180, 180], latitude in [-90, 90]; `radius` is required with it.",
    ),
    "radius": ({"exclusiveMinimum": 0, "maximum": MAX_RADIUS_KM}, " Required with `near`."),
    "datetime": (
        {"pattern": DATETIME_PATTERN},
        " Dates are calendar dates in years 1–9999 (UTC); an interval's end is not "
        "before its start.",
    ),
    "updated_since": ({"pattern": f"^{INSTANT_PATTERN}$"}, ""),
    "as_of": ({"pattern": f"^{INSTANT_PATTERN}$"}, ""),
    "event_type": ({"pattern": list_pattern(one_of(values(EventType)))}, ""),
    "verification": ({"pattern": list_pattern(one_of(values(Verification)))}, ""),
    "kind": ({"pattern": list_pattern(one_of(values(PlaceKind)))}, ""),
    "country": ({"pattern": list_pattern("[A-Za-z]{2}")}, ""),
    "source": ({"pattern": list_pattern()}, ""),
    "dataset": ({"pattern": list_pattern()}, ""),
    "properties": ({"pattern": list_pattern(one_of(list(EVENT_PROPERTY_NAMES)))}, ""),
    "sortby": (
        {"pattern": list_pattern(one_of(list(EVENT_SORTABLE)), signed=True)},
        " Each key at most once.",
    ),
    "cursor": (
        {"pattern": CURSOR},
        " A cursor pages only the query that issued it: the same `sortby`.",
    ),
    "place": ({"pattern": TEXT}, " It must name a known place (see /places/search)."),
    "within": ({"pattern": TEXT}, " It must name a known region with a boundary."),
    "q": ({"pattern": TEXT}, ""),
    "actor": ({"pattern": TEXT}, ""),
    "external_id": ({"pattern": TEXT}, ""),
    "filter": (
        {"pattern": TEXT},
        " The text must be a CQL2 expression in the language `filter-lang` names "
        "(CQL2 text, or CQL2 JSON), over the queryables, with its operands' types.",
    ),
    "mapping": ({"pattern": TEXT}, " The name of a saved mapping (GET /imports/mappings)."),
}
# Parameters a shared dependency declares optional and one route requires (its own check).
REQUIRED = {("/places/search", "q"),  # params.places.search_filter
            ("/stats/grid", "bbox")}  # routers.stats: the area to bin  # fmt: skip
HEADER_SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "If-Match": (
        {"pattern": ENTITY_TAGS_PATTERN},
        " A malformed value is a 400; a well-formed one that is not the event's "
        "current ETag is a 412.",
    ),
    "Frontline-Consistency": ({"pattern": LSN_PATTERN}, " Anything else is a 400."),
}

SCHEMAS = {"query": QUERY_SCHEMAS, "header": HEADER_SCHEMAS}  # by where a parameter is

# Every error is a problem document; said once for every operation.
PROBLEM_RESPONSE = {
    "description": "An error, as an RFC 9457 problem document naming the offending input",
    "content": {
        "application/problem+json": {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "detail"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                    "errors": {"type": "array", "items": {"type": "object"}},
                },
            }
        }
    },
}


NULL = {"type": "null"}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` as X: a query or header value is never JSON null."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return schema
    rest = [option for option in options if option != NULL]
    if len(rest) != 1:
        return schema
    merged = {key: value for key, value in schema.items() if key != "anyOf"}
    return {**rest[0], **merged}


def _exact(path: str, param: dict[str, Any], settings: Settings) -> None:
    """The parameter's schema and description as the server validates it (in place)."""
    if (path, param["name"]) in REQUIRED:
        param["required"] = True
    schema = _not_null(param.get("schema", {}))
    rule, note = SCHEMAS.get(param.get("in", ""), {}).get(param["name"], ({}, ""))
    for keyword, value in rule.items():  # what a route declares itself wins
        schema.setdefault(keyword, value)
    if note and note not in param.get("description", ""):
        param["description"] = param.get("description", "") + note
    if param.get("name") == "limit" and param.get("in") == "query" and "maximum" not in schema:
        schema.update(_limit(settings))
    param["schema"] = schema


def _limit(settings: Settings) -> dict[str, Any]:
    """A page size as the server takes it: 1 to the configured maximum."""
    return {"type": "integer", "minimum": 1, "maximum": settings.max_limit,
            "default": settings.default_limit}  # fmt: skip


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return schema if NULL in schema.get("anyOf", []) else {"anyOf": [schema, NULL]}


POINT = {"$ref": "#/components/schemas/PointGeometry"}
# A body must tie the event to a place or give it a point (a Feature's `place_id` is a place).
PLACE_OR_POINT = [
    {"required": ["place"], "properties": {"place": {"type": ["integer", "string"]}}},
    {"required": ["geometry"], "properties": {"geometry": POINT}},
]


def _feature(fields: dict[str, Any], required: list[str], tied: bool) -> dict[str, Any]:
    """A (partial) GeoJSON Feature whose properties are ``fields`` plus the served-only ones a
    GIS tool sends back (ignored); with ``tied``, it names a place or has a point. A body is
    read as a Feature when it has `properties` or `"type": "Feature"`."""
    fields = {name: field for name, field in fields.items() if name != "geometry"}  # a member
    served: dict[str, Any] = {name: {} for name in sorted(SERVED_ONLY) if name not in fields}
    served["place_id"] = {"type": ["integer", "null"]}  # it stands for `place` when that is absent
    properties = {"type": "object", "additionalProperties": False,
                  "properties": {**fields, **served},
                  "required": [name for name in required if name in fields]}  # fmt: skip
    feature: dict[str, Any] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["properties"],
        "properties": {"type": {"const": "Feature"}, "id": {}, "geometry": _nullable(POINT),
                       "properties": properties if tied else _nullable(properties)},
    }  # fmt: skip
    if not tied:  # {"type": "Feature", "geometry": …} changes the point only
        feature["required"] = []
        feature["anyOf"] = [{"required": ["type"]}, {"required": ["properties"]}]
    else:
        feature["anyOf"] = [
            {"properties": {"properties": {"anyOf": [PLACE_OR_POINT[0], {
                "required": ["place_id"], "properties": {"place_id": {"type": "integer"}}}]}}},
            {"required": ["geometry"], "properties": {"geometry": POINT}},
        ]  # fmt: skip
    return feature


def _event_bodies(document: dict[str, Any]) -> None:
    """Event bodies as the server reads them: flat fields or a Feature, each tied to a place or
    a point; a merge patch of the fields, or of a Feature's properties."""
    schemas = document["components"]["schemas"]
    schemas["PointGeometry"]["properties"]["coordinates"].update(
        prefixItems=[{"type": "number", "minimum": -180, "maximum": 180},
                     {"type": "number", "minimum": -90, "maximum": 90}],
        items={"type": "number"},
    )  # fmt: skip
    for name in ("EventUpdate", "EventCreate"):
        flat = schemas[name]
        flat["anyOf"] = PLACE_OR_POINT
        schemas[f"{name}Feature"] = _feature(dict(flat["properties"]), flat["required"], True)
    update = schemas["EventUpdate"]
    # null removes a field (it takes its default); the required ones cannot be removed.
    patch_fields = {name: field if name in update["required"] else _nullable(field)
                    for name, field in update["properties"].items()}  # fmt: skip
    schemas["EventPatch"] = {"type": "object", "additionalProperties": False,
                             "properties": patch_fields}  # fmt: skip
    schemas["EventPatchFeature"] = _feature(patch_fields, [], False)
    # Each body a route declares (writes.py) is either form.
    for path in document["paths"].values():
        for operation in path.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                name = media.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
                if name in ("EventCreate", "EventUpdate", "EventPatch"):
                    media["schema"] = {"anyOf": [{"$ref": f"#/components/schemas/{form}"}
                                                 for form in (name, f"{name}Feature")]}  # fmt: skip


def openapi_document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The app's OpenAPI document, built once: exact parameters, problems, page sizes."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for route, path in schema.get("paths", {}).items():
            for operation in path.values():
                operation.setdefault("responses", {}).setdefault("default", PROBLEM_RESPONSE)
                for param in operation.get("parameters", []):
                    _exact(route, param, settings)
        _event_bodies(schema)
        # Where QGIS (qgsoapifapirequest.cpp) and GDAL look for the page sizes they may ask.
        schema.setdefault("components", {}).setdefault("parameters", {})["limit"] = {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Features per page.",
            "schema": _limit(settings),
        }
        app.openapi_schema = schema
    return app.openapi_schema
