"""The scope check every data route depends on: a bearer key → a Principal, or 401/403.

Keys themselves (hashing, storage, revocation) live in ``app.services.keys``; this module reads
the `Authorization` header, applies the write rate limits and compares scopes.
"""

from typing import Annotated, Any

from fastapi import Depends, Request

from app.domain.errors import Forbidden, Unauthorized
from app.domain.vocab import Scope
from app.services.keys import ANONYMOUS, Principal, authenticate
from app.settings import Settings
from app.web.ratelimit import take


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
        engine = request.app.state.engine
        if scope is not Scope.READ:
            address = request.client.host if request.client else "unknown"
            await take(engine, f"ip:{address}", settings.writes_per_minute_per_ip)
        token = _bearer(request)
        if token is None:
            if scope is Scope.READ and not settings.require_read_key:
                return ANONYMOUS
            raise Unauthorized(f"This needs an API key with the {scope} scope.")
        principal = await authenticate(engine, settings, token)
        if scope not in principal.scopes:
            raise Forbidden(f"The key {principal.name!r} lacks the {scope} scope.")
        if scope is not Scope.READ:
            await take(engine, f"key:{principal.name}", settings.writes_per_minute_per_key)
        return principal

    return check


Writer = Annotated[Principal, Depends(require(Scope.WRITE))]
Reader = Annotated[Principal, Depends(require(Scope.READ))]
