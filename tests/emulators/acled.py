"""A local stand-in for ACLED's API, served on loopback to the real client (never the internet).

The shapes follow ACLED's public API documentation (acleddata.com/api-documentation: "Getting
started", "ACLED endpoint", "Deleted endpoint"): an OAuth password grant at ``/oauth/token``
with ``client_id=acled`` (access and refresh tokens, ``expires_in``), reads answering
``{"status", "success", "last_update", "count", "messages", "data", "filename"}``, pages of
``limit`` rows numbered from 1, ``<field>_where`` operators, ``|`` between values, every value
a string. The test drives what the documentation says can happen: tokens that expire, a 429,
a 500, rows edited (a new ``timestamp``) and deleted between two runs, a slow page to kill a
client on.
"""

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

USERNAME, PASSWORD = "analyst@example.org", "correct horse battery staple"


@dataclass
class AcledData:
    """What the emulator serves and how it misbehaves; tests change it between requests."""

    rows: list[dict[str, str]] = field(default_factory=list)
    deleted: list[dict[str, str]] = field(default_factory=list)
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    # Requests answered with this status once, in order, before being served normally.
    faults: list[int] = field(default_factory=list)
    # Revoke every access token after this many reads (a token expiring mid-run).
    reads_per_token: int | None = None
    # A read of this page sleeps this long first (a run to kill in the middle).
    slow_page: tuple[int, float] | None = None
    log: list[str] = field(default_factory=list)
    _reads: int = 0

    def edit(self, event_id: str, timestamp: int, **values: str) -> None:
        row = next(r for r in self.rows if r["event_id_cnty"] == event_id)
        row.update(values, timestamp=str(timestamp))

    def delete(self, event_id: str, timestamp: int) -> None:
        self.rows = [r for r in self.rows if r["event_id_cnty"] != event_id]
        self.deleted.append({"event_id_cnty": event_id, "deleted_timestamp": str(timestamp)})


def _matches(row: dict[str, str], name: str, value: str, op: str) -> bool:
    have = row.get(name, "")
    if op == "BETWEEN":
        low, _, high = value.partition("|")
        return low <= have <= high
    wanted = value.split("|")
    if op in (">", ">=", "<", "<="):
        number, bound = int(have or 0), int(wanted[0])
        return {">": number > bound, ">=": number >= bound,
                "<": number < bound, "<=": number <= bound}[op]  # fmt: skip
    return have in wanted


def _filtered(rows: list[dict[str, str]], params: dict[str, str]) -> list[dict[str, str]]:
    skip = {"_format", "limit", "page"}
    for name, value in params.items():
        if name in skip or name.endswith("_where"):
            continue
        op = params.get(f"{name}_where", "=")
        rows = [r for r in rows if _matches(r, name, value, op)]
    return rows


def _granted(data: AcledData, form: dict[str, str]) -> bool:
    """Whether a token request may have tokens: the account's password, or a live refresh."""
    if form.get("client_id") != "acled":
        return False
    if form.get("grant_type") == "password":
        return (form.get("username"), form.get("password")) == (USERNAME, PASSWORD)
    if form.get("grant_type") == "refresh_token" and form.get("refresh_token") in data.refresh:
        data.refresh.discard(form["refresh_token"])
        return True
    return False


def _refusal(data: AcledData, request: Request) -> Response | None:
    """An injected fault, or a 401 for a missing or revoked token; None to serve the read."""
    if data.faults:
        status = data.faults.pop(0)
        return JSONResponse({"status": status, "success": False}, status_code=status)
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or auth[7:] not in data.access:
        return JSONResponse({"status": 401, "error": "Unauthorized"}, status_code=401)
    data._reads += 1
    if data.reads_per_token and data._reads % data.reads_per_token == 0:
        data.access.clear()
    return None


def build(data: AcledData) -> Starlette:
    async def token(request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if not _granted(data, form):
            data.log.append(f"token refused {grant}")
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        access, refresh = secrets.token_hex(16), secrets.token_hex(16)
        data.access.add(access)
        data.refresh.add(refresh)
        data.log.append(f"token {grant}")
        return JSONResponse({"token_type": "Bearer", "expires_in": 86400,
                             "access_token": access, "refresh_token": refresh})  # fmt: skip

    async def read(request: Request, rows: list[dict[str, str]], name: str) -> Response:
        params = dict(request.query_params)
        page, limit = int(params.get("page", "1")), int(params.get("limit", "5000"))
        data.log.append(f"{name} page {page}")
        refused = _refusal(data, request)
        if refused is not None:
            return refused
        if data.slow_page is not None and data.slow_page[0] == page and name == "events":
            await asyncio.sleep(data.slow_page[1])
        chunk = _filtered(rows, params)[(page - 1) * limit : page * limit]
        body: dict[str, Any] = {"status": 200, "success": True, "last_update": 0,
                                "count": len(chunk), "messages": [], "data": chunk,
                                "filename": f"{name}.json"}  # fmt: skip
        return JSONResponse(body)

    async def events(request: Request) -> Response:
        return await read(request, data.rows, "events")

    async def deletions(request: Request) -> Response:
        return await read(request, data.deleted, "deleted")

    return Starlette(routes=[
        Route("/oauth/token", token, methods=["POST"]),
        Route("/api/acled/read", events),
        Route("/api/deleted/read", deletions),
    ])  # fmt: skip


def acled_row(n: int, timestamp: int, **values: str) -> dict[str, str]:
    """One ACLED row as the API returns it (every value a string), near the border."""
    row = {
        "event_id_cnty": f"UKR{n:05d}", "event_date": f"2025-03-{1 + n % 28:02d}", "year": "2025",
        "time_precision": "1", "disorder_type": "Political violence", "event_type": "Battles",
        "sub_event_type": "Armed clash", "actor1": "Military Forces of Russia",
        "actor2": "Military Forces of Ukraine", "iso": "804", "region": "Europe",
        "country": "Ukraine", "admin1": "Sumy", "location": "Yunakivka",
        "latitude": f"{51.0 + n / 1000:.4f}", "longitude": f"{35.0 + n / 1000:.4f}",
        "geo_precision": "1", "source": "Ukrainska Pravda", "notes": f"Clash number {n}.",
        "fatalities": str(n % 4), "timestamp": str(timestamp),
    }  # fmt: skip
    return {**row, **values}
