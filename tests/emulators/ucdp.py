"""A local stand-in for UCDP's API, served on loopback to the real client (never the internet).

The shapes follow UCDP's public API documentation (ucdp.uu.se/apidocs): the header
``x-ucdp-access-token`` on every call, ``/api/gedevents/{version}`` with ``pagesize`` (at most
1000) and ``page`` from 0, and the envelope ``{"TotalCount", "TotalPages", "PreviousPageUrl",
"NextPageUrl", "Result"}`` whose ``NextPageUrl`` is empty on the last page. Rows carry the GED
codebook's fields, numbers as numbers and dates as ``YYYY-MM-DDT00:00:00`` as the API sends
them; ``Country`` filters by Gleditsch-Ward code. Tests choose the releases it holds and
the faults it answers with.
"""

from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TOKEN = "ucdp-test-token"


@dataclass
class UcdpData:
    releases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[int] = field(default_factory=list)
    log: list[str] = field(default_factory=list)


def build(data: UcdpData) -> Starlette:
    async def events(request: Request) -> Response:
        version = request.path_params["version"]
        params = request.query_params
        page, size = int(params.get("page", "0")), int(params.get("pagesize", "100"))
        data.log.append(f"{version} page {page}")
        if data.faults:
            status = data.faults.pop(0)
            return JSONResponse({"error": status}, status_code=status)
        if request.headers.get("x-ucdp-access-token") != TOKEN:
            return JSONResponse({"error": "a valid access token is required"}, status_code=401)
        if size > 1000:
            return JSONResponse({"error": "pagesize must be at most 1000"}, status_code=400)
        if version not in data.releases:
            return JSONResponse({"error": f"no version {version}"}, status_code=404)
        rows = data.releases[version]
        if countries := params.get("Country"):
            rows = [r for r in rows if str(r["country_id"]) in countries.split(",")]
        pages = max(1, -(-len(rows) // size))
        base = str(request.url.replace(query=""))
        nxt = f"{base}?pagesize={size}&page={page + 1}" if page + 1 < pages else ""
        prev = f"{base}?pagesize={size}&page={page - 1}" if page > 0 else ""
        return JSONResponse({"TotalCount": len(rows), "TotalPages": pages,
                             "PreviousPageUrl": prev, "NextPageUrl": nxt,
                             "Result": rows[page * size : (page + 1) * size]})  # fmt: skip

    return Starlette(routes=[Route("/api/gedevents/{version}", events)])


def ged_row(n: int, **values: Any) -> dict[str, Any]:
    """One GED event as the API returns it, in Donetsk oblast in 2024."""
    row: dict[str, Any] = {
        "id": 500_000 + n, "relid": f"UKR-2024-1-{n}", "year": 2024, "active_year": True,
        "code_status": "Clear", "type_of_violence": 1, "dyad_name": "Government of Russia - "
        "Government of Ukraine", "side_a": "Government of Russia",
        "side_b": "Government of Ukraine", "source_office": "Ukrinform",
        "source_date": "2024-05-02", "source_article": f"Ukrinform, 2024-05-02, report {n}",
        "where_prec": 1, "where_coordinates": "Ocheretyne town", "where_description": "",
        "latitude": 48.2 + n / 100, "longitude": 37.6 + n / 100, "country": "Ukraine",
        "country_id": 369, "date_prec": 1, "date_start": f"2024-05-{n:02d}T00:00:00",
        "date_end": f"2024-05-{n:02d}T00:00:00", "best": n, "low": n, "high": n + 1,
    }  # fmt: skip
    return {**row, **values}
