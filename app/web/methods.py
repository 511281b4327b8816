"""The methods a path answers (RFC 9110 `Allow`), for OPTIONS and for every 405.

Starlette answers a 405 with the methods of the first route whose path matched, while a path
such as `/collections/events/items` is served by several routes (GET, POST). QGIS decides
whether a layer is editable from `Allow` on OPTIONS (POST on the items, PUT/PATCH/DELETE on
an item), so both are computed here from every route of the app.
"""

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at the request's path (OPTIONS included), in a fixed
    order; empty when no route has that path."""
    matching = [
        route for route in routes
        if isinstance(route, Route) and route.methods
        and route.matches(scope)[0] is not Match.NONE
    ]  # fmt: skip
    if not matching:
        return []
    # The most literal templates only: /events/export is its own path, not an /events/{id}.
    fewest = min(len(route.param_convertors) for route in matching)
    methods: set[str] = set()
    for route in matching:
        if len(route.param_convertors) == fewest:
            methods |= route.methods or set()
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
    methods.add("OPTIONS")
    return [m for m in ORDER if m in methods]
