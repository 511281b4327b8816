"""A client of ACLED's API: OAuth tokens, and paged reads of events and deletions.

What it relies on, from ACLED's API documentation ("Getting started" and the endpoint pages at
acleddata.com/api-documentation):
- ``POST /oauth/token`` with a form ``username``, ``password``, ``grant_type=password``,
  ``client_id=acled`` gives ``access_token`` (24 h) and ``refresh_token`` (14 days);
  ``grant_type=refresh_token`` renews it. Every read sends ``Authorization: Bearer <token>``.
- ``GET /api/acled/read?_format=json`` and ``GET /api/deleted/read?_format=json`` answer
  ``{"status", "success", "count", "data": [...]}``, paged by ``limit`` and ``page`` (from
  1); a page shorter than ``limit`` is the last. Filters are ``field=value`` with an
  operator in ``field_where`` (``>``, ``>=``, ``BETWEEN`` with ``a|b``), and ``|`` between
  several values. Numbers arrive as strings; times to filter on are Unix seconds.
The password and tokens are never logged or put in an error message.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from app.ingest.feeds.errors import FeedError, RetryableFeedError
from app.ingest.feeds.http import as_json, checked, get, retrying

TOKEN_PATH = "/oauth/token"  # noqa: S105  (a path, not a secret)
EVENTS_PATH = "/api/acled/read"
DELETIONS_PATH = "/api/deleted/read"


@dataclass
class _Tokens:
    access: str
    refresh: str | None


class AcledClient:
    """One authenticated session against ACLED (or anything that speaks its API)."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        username: str,
        password: str,
        *,
        attempts: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        self.http, self.base_url = http, base_url.rstrip("/")
        self._username, self._password = username, password
        self._tokens: _Tokens | None = None
        self.attempts, self.backoff_s = attempts, backoff_s

    async def events(
        self, page: int, limit: int, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """One page of events matching ``filters`` (ACLED's own parameter names)."""
        return await self._page(EVENTS_PATH, page, limit, filters)

    async def deletions(self, page: int, limit: int, since: int) -> list[dict[str, Any]]:
        """One page of deletions at or after the Unix time ``since``."""
        filters = {"deleted_timestamp": str(since), "deleted_timestamp_where": ">="}
        return await self._page(DELETIONS_PATH, page, limit, filters)

    async def _page(
        self, path: str, page: int, limit: int, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        params = {"_format": "json", "limit": str(limit), "page": str(page), **filters}
        body = await self._read(path, params)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise FeedError(f"ACLED {path} page {page}: the answer has no list of rows in 'data'.")
        return data

    async def _read(self, path: str, params: dict[str, str]) -> Any:
        """GET with retries on 429, 5xx and network failures; a 401 renews the token once."""
        async for attempt in retrying(self.attempts, self.backoff_s):
            with attempt:
                response = await self._get(path, params)
                if response.status_code == 401:
                    await self._renew()
                    response = await self._get(path, params)
                return as_json(checked(response, f"ACLED {path}"), f"ACLED {path}")
        raise AssertionError("unreachable: tenacity reraises the last error")

    async def _get(self, path: str, params: dict[str, str]) -> httpx2.Response:
        if self._tokens is None:
            await self._login()
        assert self._tokens is not None
        headers = {"Authorization": f"Bearer {self._tokens.access}"}
        return await get(self.http, self.base_url + path, f"ACLED {path}", params=params,
                         headers=headers)  # fmt: skip

    async def _login(self) -> None:
        form = {"username": self._username, "password": self._password,
                "grant_type": "password", "client_id": "acled"}  # fmt: skip
        self._tokens = await self._token(form, "the username or password")

    async def _renew(self) -> None:
        """A new access token: from the refresh token, else from the password again."""
        if self._tokens is not None and self._tokens.refresh:
            form = {"grant_type": "refresh_token", "refresh_token": self._tokens.refresh,
                    "client_id": "acled"}  # fmt: skip
            try:
                self._tokens = await self._token(form, "the refresh token")
                return
            except FeedError:
                pass  # expired too: sign in again
        await self._login()

    async def _token(self, form: dict[str, str], what: str) -> _Tokens:
        try:
            response = await self.http.post(self.base_url + TOKEN_PATH, data=form)
        except httpx2.TransportError as exc:
            raise RetryableFeedError(f"ACLED {TOKEN_PATH}: {type(exc).__name__}") from None
        if response.status_code in (400, 401, 403):
            raise FeedError(f"ACLED refused {what} ({response.status_code} from {TOKEN_PATH}).")
        body = as_json(checked(response, f"ACLED {TOKEN_PATH}"), f"ACLED {TOKEN_PATH}")
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise FeedError(f"ACLED {TOKEN_PATH}: the answer has no access_token.")
        refresh = body.get("refresh_token")
        return _Tokens(body["access_token"], refresh if isinstance(refresh, str) else None)
