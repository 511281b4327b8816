"""Resolve what a user typed (id, slug or any spelling) to one place, or say why not."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import InvalidParameter, Unprocessable, invalid_input
from app.domain.filters import PlaceFilter
from app.domain.names import fold_name
from app.store import repository
from app.store.queries import places as place_sql

# Two passes: the connection's strict similarity cut-off (0.5, app.store.engine.STRICT_SIMILARITY)
# keeps searches cheap; only when nothing passes it does pg_trgm's default (0.3) look again,
# which catches typos in short names ("Kurks"). Weak matches never crowd out good ones.
LOOSE = {"pg_trgm.similarity_threshold": "0.3"}


@dataclass(frozen=True)
class PlaceRef:
    id: int
    slug: str
    name: str
    kind: str
    has_boundary: bool
    admin_path: str


class AmbiguousPlace(Unprocessable):
    code = "ambiguous-place"
    title = "Ambiguous place name"


async def resolve_place(
    engine: AsyncEngine, key: str, parameter: str, where: str = "query"
) -> PlaceRef:
    """Exactly one place for ``key``; 400 (422 in a body) when none matches, 422 listing the
    candidates when several do. ``where`` says whether the name came in the query or a body."""
    rows = await repository.fetch_rows(engine, place_sql.place_candidates(key, fold_name(key)))
    best = [row for row in rows if row.rank == rows[0].rank] if rows else []
    if len(best) == 1:
        row = best[0]
        return PlaceRef(row.id, row.slug, row.name, row.kind, row.has_boundary, row.admin_path)
    if not best:
        raise invalid_input(parameter, await _unknown_message(engine, key), where)
    name_key = "field" if where == "body" else "parameter"
    candidates = [
        {"id": r.id, "slug": r.slug, "name": r.name, "kind": r.kind, "admin_path": r.admin_path}
        for r in best
    ]
    raise AmbiguousPlace(
        f"{parameter}: {key!r} names {len(best)} places; use one of their slugs or ids.",
        errors=[{name_key: parameter, "in": where, "message": "ambiguous place name"}],
        extra={"candidates": candidates},
    )


async def _unknown_message(engine: AsyncEngine, key: str) -> str:
    folded = fold_name(key)
    hints = (
        await repository.fetch_rows(engine, place_sql.place_suggestions(folded), settings=LOOSE)
        if folded
        else []
    )
    message = f"no place is called {key!r}"
    if hints:
        message += "; did you mean " + " or ".join(f"{h.name} ({h.slug})" for h in hints) + "?"
    return message


async def search_places(engine: AsyncEngine, f: PlaceFilter, query: str, limit: int) -> list[Any]:
    """The best `limit` places for what the user typed, best first."""
    folded = fold_name(query)
    if not folded:
        raise InvalidParameter("q", "needs at least one letter or digit")
    statement = place_sql.place_search(f, folded, limit)
    rows = list(await repository.fetch_rows(engine, statement))
    if not rows:
        rows = list(await repository.fetch_rows(engine, statement, settings=LOOSE))
    return rows


async def resolve_region(engine: AsyncEngine, key: str, parameter: str) -> PlaceRef:
    """A place with a boundary polygon, for spatial containment."""
    place = await resolve_place(engine, key, parameter)
    if not place.has_boundary:
        raise InvalidParameter(
            parameter, f"{place.name} ({place.slug}) has no boundary; use place= or near="
        )
    return place
