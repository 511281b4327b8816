"""SQL for the places collection (the gazetteer)."""

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.filters import Page, PlaceFilter
from app.models import Place, PlaceName
from app.queries.common import bbox_clause, feature_json, json_object

places = Place.__table__
place_names = PlaceName.__table__


def admin_path() -> ColumnElement[str]:
    """'Demidovka, Krasnoyaruzhsky District, Belgorod Oblast, Russia' for the current place."""
    parent, grand, great = places.alias("parent"), places.alias("grand"), places.alias("great")
    ancestors = (
        select(func.concat_ws(", ", parent.c.name, grand.c.name, great.c.name))
        .select_from(
            parent.outerjoin(grand, grand.c.id == parent.c.parent_id).outerjoin(
                great, great.c.id == grand.c.parent_id
            )
        )
        .where(parent.c.id == places.c.parent_id)
        .scalar_subquery()
    )
    return func.concat_ws(", ", places.c.name, ancestors)


def _names(place_id: ColumnElement[int]) -> ColumnElement[Any]:
    n = place_names.c
    item = func.json_build_object("name", n.name, "lang", n.lang)
    return (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(item, n.lang, n.name)), func.json_build_array()
            )
        )
        .where(n.place_id == place_id)
        .scalar_subquery()
    )


def place_properties(with_names: bool) -> dict[str, ColumnElement[Any]]:
    parent = places.alias("parent_place")
    c = places.c
    props: dict[str, ColumnElement[Any]] = {
        "slug": c.slug,
        "name": c.name,
        "kind": c.kind,
        "country_code": c.country_code,
        "parent_id": c.parent_id,
        "parent_slug": select(parent.c.slug).where(parent.c.id == c.parent_id).scalar_subquery(),
        "admin_path": admin_path(),
        "geonames_id": c.geonames_id,
        "iso_code": c.iso_code,
        "population": c.population,
        "has_boundary": c.boundary.is_not(None),
    }
    if with_names:
        props["names"] = _names(c.id)
    return props


def place_conditions(f: PlaceFilter) -> list[ColumnElement[bool]]:
    c = places.c
    clauses: list[ColumnElement[bool]] = []
    if f.bbox is not None:
        clauses.append(bbox_clause(c.geom, f.bbox))
    if f.kinds:
        clauses.append(c.kind.in_(f.kinds))
    if f.country_codes:
        clauses.append(c.country_code.in_(f.country_codes))
    return clauses


def places_page(f: PlaceFilter, page: Page) -> Select[Any]:
    """A page of places ordered by id (the cursor carries the last id)."""
    feature = feature_json(json_object(place_properties(False)), places.c.geom, places.c.id)
    conditions = place_conditions(f)
    if page.cursor is not None:
        last_id = page.cursor.values[0]
        conditions.append(places.c.id < last_id if page.cursor.backward else places.c.id > last_id)
    order = places.c.id.desc() if page.cursor and page.cursor.backward else places.c.id.asc()
    return (
        select(feature.label("feature"), places.c.id.label("k0"))
        .where(and_(true(), *conditions))
        .order_by(order)
        .limit(page.limit + 1)
    )


def place_lookup(key: str) -> Select[Any]:
    """One place as a Feature (with all its names) by numeric id or slug."""
    feature = feature_json(json_object(place_properties(True)), places.c.geom, places.c.id)
    match = places.c.id == int(key) if key.isdigit() and len(key) < 19 else places.c.slug == key
    return select(feature.label("feature")).where(match)


def _ref_columns() -> list[ColumnElement[Any]]:
    c = places.c
    return [
        c.id,
        c.slug,
        c.name,
        c.kind,
        c.boundary.is_not(None).label("has_boundary"),
        admin_path().label("admin_path"),
    ]


def place_candidates(key: str, folded: str) -> Select[Any]:
    """Places a user's text may mean, best kind of match first: id or slug (0), a spelling (1)."""
    c, n = places.c, place_names.c
    exact = c.slug == key
    if key.isdigit() and len(key) < 19:
        exact = or_(exact, c.id == int(key))
    by_name = c.id.in_(select(n.place_id).where(n.name_key == folded))
    rank = case((exact, 0), else_=1).label("rank")
    return (
        select(*_ref_columns(), rank)
        .where(or_(exact, by_name))
        .order_by(rank, c.population.desc().nulls_last(), c.id)
        .limit(20)
    )


def place_suggestions(folded: str, limit: int = 3) -> Select[Any]:
    """Nearest spellings by trigram similarity, for 'did you mean' hints."""
    n = place_names.c
    best = (
        select(n.place_id, func.max(func.similarity(n.name_key, folded)).label("score"))
        .where(n.name_key.op("%")(folded))
        .group_by(n.place_id)
        .subquery()
    )
    return (
        select(places.c.slug, places.c.name, best.c.score)
        .join(best, best.c.place_id == places.c.id)
        .order_by(best.c.score.desc(), places.c.id)
        .limit(limit)
    )


def places_extent() -> Select[Any]:
    box = func.ST_Extent(func.coalesce(places.c.boundary, places.c.geom))
    return select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
