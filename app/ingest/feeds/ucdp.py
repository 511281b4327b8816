"""A client of UCDP's API: pages of a GED release (yearly or monthly Candidate).

What it relies on, from UCDP's API documentation (ucdp.uu.se/apidocs): every call carries the
header ``x-ucdp-access-token``; ``GET /api/gedevents/{version}`` serves a release (``25.1``
yearly, ``26.0.8`` a monthly Candidate) with ``pagesize`` (at most 1000) and ``page`` from 0,
and filters such as ``Country`` (Gleditsch–Ward codes, comma-separated) and
``StartDate``/``EndDate`` (``YYYY-MM-DD``); the answer is ``{"TotalCount", "TotalPages",
"PreviousPageUrl", "NextPageUrl", "Result": [...]}``, and ``NextPageUrl`` is empty on the last
page. Rows carry the GED codebook's fields (``id``, ``date_start``, ``where_prec``, ``best``,
``code_status``…). The token is never logged or put in an error message.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from app.ingest.feeds.errors import FeedError
from app.ingest.feeds.http import as_json, checked, get, retrying

MAX_PAGE_SIZE = 1000
VERSION = re.compile(r"^\d{2}\.\d(\.\d{1,2})?$")  # 25.1, or a Candidate such as 26.0.8


def is_candidate(version: str) -> bool:
    """Monthly Candidate releases have three parts; yearly GED releases two."""
    return version.count(".") == 2


@dataclass(frozen=True)
class UcdpPage:
    rows: list[dict[str, Any]]
    total_pages: int
    last: bool
    total_count: int | None = None


class UcdpClient:
    """Reads of one UCDP API server with one access token."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        base_url: str,
        token: str,
        *,
        attempts: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        self.http, self.base_url, self._token = http, base_url.rstrip("/"), token
        self.attempts, self.backoff_s = attempts, backoff_s

    async def events(
        self, version: str, page: int, pagesize: int, filters: Mapping[str, str]
    ) -> UcdpPage:
        """Page ``page`` (from 0) of release ``version``."""
        if not VERSION.match(version):
            raise FeedError(f"UCDP version {version!r} is not like 25.1 or 26.0.8.")
        path = f"/api/gedevents/{version}"
        params = {"pagesize": str(min(pagesize, MAX_PAGE_SIZE)), "page": str(page), **filters}
        body = await self._read(path, params)
        rows = body.get("Result") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FeedError(f"UCDP {path} page {page}: the answer has no list in 'Result'.")
        pages, count = body.get("TotalPages"), body.get("TotalCount")
        return UcdpPage(rows, pages if isinstance(pages, int) else 0, not body.get("NextPageUrl"),
                        count if isinstance(count, int) else None)  # fmt: skip

    async def _read(self, path: str, params: dict[str, str]) -> Any:
        what = f"UCDP {path}"
        headers = {"x-ucdp-access-token": self._token}
        async for attempt in retrying(self.attempts, self.backoff_s):
            with attempt:
                response = await get(self.http, self.base_url + path, what, params=params,
                                     headers=headers)  # fmt: skip
                if response.status_code in (401, 403):
                    raise FeedError(f"UCDP refused the access token ({response.status_code}).")
                return as_json(checked(response, what), what)
        raise AssertionError("unreachable: tenacity reraises the last error")
