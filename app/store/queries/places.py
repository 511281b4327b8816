"""SQL for the places collection (the gazetteer)."""

from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    Select,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by

from app.domain.filters import Page, PlaceFilter
from app.store.models import Place, PlaceName
from app.store.queries.common import bbox_clause, feature_json, json_object, within_distance

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


@lru_cache(maxsize=256)
def descendant_ids(place_ids: tuple[int, ...]) -> Select[Any]:
    """The places and everything below them in the admin hierarchy (district → villages).

    Cached, so a statement that filters twice (a tile's points and its cells) shares one CTE.
    """
    chosen = places.c.id == any_(bindparam("place_ids", list(place_ids), ARRAY(BigInteger)))
    tree = select(places.c.id).where(chosen).cte("tree", recursive=True)
    child = places.alias("child")
    tree = tree.union(select(child.c.id).join(tree, child.c.parent_id == tree.c.id))
    return select(tree.c.id)


def place_conditions(f: PlaceFilter) -> list[ColumnElement[bool]]:
    c = places.c
    clauses: list[ColumnElement[bool]] = []
    if f.bbox is not None:
        clauses.append(bbox_clause(c.geom, f.bbox))
    if f.kinds:
        clauses.append(c.kind.in_(f.kinds))
    if f.country_codes:
        clauses.append(c.country_code.in_(f.country_codes))
    if f.within_place_id is not None:
        region = places.alias("region")
        boundary = select(region.c.boundary).where(region.c.id == f.within_place_id)
        clauses.append(func.ST_Intersects(c.geom, boundary.scalar_subquery()))
        clauses.append(c.id != f.within_place_id)
    if f.near is not None and f.radius_m is not None:
        clauses.append(within_distance(c.geom, f.near[0], f.near[1], f.radius_m))
    return clauses


def _geometry(f: PlaceFilter) -> ColumnElement[bytes]:
    c = places.c
    return func.coalesce(c.boundary, c.geom) if f.boundary else c.geom


def places_page(f: PlaceFilter, page: Page) -> Select[Any]:
    """A page of places ordered by id (the cursor carries the last id)."""
    feature = feature_json(json_object(place_properties(False)), _geometry(f), places.c.id)
    conditions = place_conditions(f)
    if page.cursor is not None:
        last_id = page.cursor.values[0]
        conditions.append(places.c.id < last_id if page.cursor.backward else places.c.id > last_id)
    order = places.c.id.desc() if page.backward else places.c.id.asc()
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


# Shorter keys make the LIKE prefix scan too broad to be useful.
MIN_PREFIX_CHARS = 3
_KIND_ORDER = {"country": 0, "region": 1, "district": 2, "settlement": 3, "site": 4}


# Prefix matches scored per search: "novo" starts thousands of names; the shortest come first.
PREFIX_CANDIDATES = 200


def _candidate_spellings(folded: str) -> Any:
    """Spellings worth scoring, all found through indexes: the exact key, those similar to it
    (trigram `%`, at the connection's threshold) and the shortest that start with it."""
    n = place_names.c
    key = literal(folded, String)
    columns = (n.id, n.place_id, n.name, n.name_key)
    similar = n.name_key.op("%", is_comparison=True)(key)
    parts: list[Any] = [select(*columns).where(or_(similar, n.name_key == key))]
    if len(folded) >= MIN_PREFIX_CHARS:
        # Folded keys hold only [a-z0-9 ], so the pattern needs no LIKE escaping.
        prefixed = (
            select(*columns)
            .where(n.name_key.like(f"{folded}%"))
            .order_by(func.length(n.name_key), n.id)
            .limit(PREFIX_CANDIDATES)
            .subquery()
        )
        parts.append(select(prefixed))
    return union(*parts).subquery("spellings")


def name_hits(folded: str) -> Select[Any]:
    """Best score per place over its spellings: 1 exact, 0.8–0.9 prefix, else similarity.

    Among equally good spellings the first stored (the canonical name) is reported.
    """
    spelling = _candidate_spellings(folded).c
    key = literal(folded, String)
    similarity = func.similarity(spelling.name_key, key)
    prefix = spelling.name_key.like(f"{folded}%")
    score = case((spelling.name_key == key, 1.0), (prefix, 0.8 + 0.1 * similarity),
                 else_=similarity)  # fmt: skip
    matched = func.array_agg(
        aggregate_order_by(spelling.name, score.desc(), spelling.id), type_=ARRAY(Text)
    )[1]
    return select(
        spelling.place_id, func.max(score).label("score"), matched.label("matched")
    ).group_by(spelling.place_id)


def _ranked_hits(f: PlaceFilter, folded: str, limit: int) -> Any:
    """The best `limit` hits after the place filters: (place_id, score, matched, ranks).

    Each hit looks up its own place row by primary key (OFFSET 0 keeps the planner from
    turning that into a scan of the whole, wide places table), so the cost follows the
    number of matching spellings, not the size of the gazetteer.
    """
    hits = name_hits(folded).subquery("hits")
    c = places.c
    place = (
        select(c.population, case(_KIND_ORDER, value=c.kind, else_=9).label("kind_rank"))
        .where(c.id == hits.c.place_id, *place_conditions(f))
        .offset(0)
        .lateral("place")
    )
    order = (hits.c.score.desc(), place.c.population.desc().nulls_last(), place.c.kind_rank,
             hits.c.place_id)  # fmt: skip
    return (
        select(
            hits,
            place.c.population,
            place.c.kind_rank,
            func.row_number().over(order_by=order).label("position"),
        )
        .select_from(hits.join(place, true()))
        .order_by(*order)
        .limit(limit)
        .subquery("ranked")
    )


def place_search(f: PlaceFilter, folded: str, limit: int) -> Select[Any]:
    """Places whose spellings resemble the folded query, best first, each with its admin path."""
    ranked = _ranked_hits(f, folded, limit)
    props = {
        **place_properties(False),
        "matched_name": ranked.c.matched,
        "score": func.round(ranked.c.score.cast(Numeric), 3).cast(Float),
    }
    feature = feature_json(json_object(props), _geometry(f), places.c.id)
    return (
        select(feature.label("feature"), places.c.id.label("k0"))
        .join_from(ranked, places, places.c.id == ranked.c.place_id)
        .order_by(ranked.c.position)
    )


def places_extent() -> Select[Any]:
    box = func.ST_Extent(func.coalesce(places.c.boundary, places.c.geom))
    return select(func.ST_XMin(box), func.ST_YMin(box), func.ST_XMax(box), func.ST_YMax(box))
