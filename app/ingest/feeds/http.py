"""What every feed client does with HTTP: retry what is worth retrying, refuse the rest clearly."""

from typing import Any

import httpx2
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from app.ingest.feeds.errors import FeedError, RetryableFeedError


def retrying(attempts: int, backoff_s: float) -> AsyncRetrying:
    """Up to ``attempts`` tries of a RetryableFeedError, exponential pauses up to a minute."""
    return AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff_s, max=60),
        retry=retry_if_exception_type(RetryableFeedError),
        reraise=True,
    )


async def get(http: httpx2.AsyncClient, url: str, what: str, **options: Any) -> httpx2.Response:
    """A GET whose network failures are retryable feed errors (named, without the URL's query)."""
    try:
        return await http.get(url, **options)
    except httpx2.TransportError as exc:
        raise RetryableFeedError(f"{what}: {type(exc).__name__}") from None


def checked(response: httpx2.Response, what: str) -> httpx2.Response:
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetryableFeedError(f"{what}: HTTP {status}")
    if status >= 400:
        raise FeedError(f"{what}: HTTP {status}")
    return response


def as_json(response: httpx2.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise FeedError(f"{what}: the answer is not JSON.") from None
