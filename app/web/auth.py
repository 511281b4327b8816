"""The scope check every data route depends on: a bearer key → a Principal, or 401/403.

Keys themselves (hashing, storage, revocation) live in ``app.services.keys``; this module reads
the `Authorization` header, applies the write rate limits and compares scopes.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from app.domain.errors import Forbidden, Unauthorized
from app.domain.vocab import Scope
from app.services.keys import ANONYMOUS, Principal, authenticate
from app.settings import Settings
from app.web.ratelimit import Buckets


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <key>'.")
    return token.strip()


def require(scope: Scope) -> Any:
    """A dependency: the caller's Principal, or 401 (no/bad key) / 403 (scope too small)."""

    async def check(request: Request) -> Principal:
        settings: Settings = request.app.state.settings
        limits = _limits(request, settings)
        if scope is not Scope.READ:
            limits.per_ip.take(request.client.host if request.client else "unknown")
        token = _bearer(request)
        if token is None:
            if scope is Scope.READ and not settings.require_read_key:
                return ANONYMOUS
            raise Unauthorized(f"This needs an API key with the {scope} scope.")
        principal = await authenticate(request.app.state.engine, settings, token)
        if scope not in principal.scopes:
            raise Forbidden(f"The key {principal.name!r} lacks the {scope} scope.")
        if scope is not Scope.READ:
            limits.per_key.take(principal.name)
        return principal

    return check


@dataclass
class WriteLimits:
    per_key: Buckets
    per_ip: Buckets


def _limits(request: Request, settings: Settings) -> WriteLimits:
    """The app's rate-limit buckets, made on first use."""
    state = request.app.state
    if not hasattr(state, "write_limits"):
        state.write_limits = WriteLimits(Buckets(settings.writes_per_minute_per_key),
                                         Buckets(settings.writes_per_minute_per_ip))  # fmt: skip
    limits: WriteLimits = state.write_limits
    return limits


Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
