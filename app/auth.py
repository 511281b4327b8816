"""API keys: creation, hashing, revocation, and the scope check every write route depends on.

A key is shown once (`fl_` + 32 random bytes, URL-safe); only its HMAC-SHA256 (keyed with the
server's pepper) is stored, so a leaked table does not leak usable keys. Keys are random and
long, so a fast keyed hash is the right tool (a slow password hash protects guessable input).
Scopes nest: admin ⊃ write ⊃ read.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import ProblemError
from app.ratelimit import Buckets
from app.settings import Settings
from app.vocab import Scope

KEY_PREFIX = "fl_"
IMPLIED = {
    Scope.READ: {Scope.READ},
    Scope.WRITE: {Scope.READ, Scope.WRITE},
    Scope.ADMIN: {Scope.READ, Scope.WRITE, Scope.ADMIN},
}


class Unauthorized(ProblemError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


@dataclass(frozen=True)
class Principal:
    """Who is making a request: the key's name (recorded in history) and its scopes."""

    name: str
    scopes: frozenset[Scope]


ANONYMOUS = Principal("anonymous", frozenset({Scope.READ}))


@dataclass(frozen=True)
class KeyInfo:
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def hash_key(secret: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), secret.encode(), hashlib.sha256).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def granted(scopes: list[str]) -> frozenset[Scope]:
    return frozenset(s for scope in scopes for s in IMPLIED[Scope(scope)])


_INSERT = text(
    "INSERT INTO api_keys (name, key_hash, scopes) VALUES (:name, :hash, :scopes) "
    "ON CONFLICT (name) DO NOTHING RETURNING id"
)
_REVOKE = text(
    "UPDATE api_keys SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL RETURNING id"
)
_LIST = text(
    "SELECT name, scopes, created_at, revoked_at, last_used_at FROM api_keys ORDER BY name"
)
# One statement finds the key and stamps its use; revoked keys are found too, to say so.
_USE = text(
    """
    UPDATE api_keys SET last_used_at = now()
    WHERE key_hash = :hash
      AND (revoked_at IS NULL)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
    RETURNING name
    """
)
_FIND = text("SELECT name, key_hash, scopes, revoked_at FROM api_keys WHERE key_hash = :hash")


async def create_key(engine: AsyncEngine, settings: Settings, name: str, scope: Scope) -> str:
    """A new key's secret (shown once); ValueError when the name is taken."""
    secret = new_secret()
    params = {"name": name, "hash": hash_key(secret, settings.key_pepper), "scopes": [scope.value]}
    async with engine.begin() as conn:
        if (await conn.execute(_INSERT, params)).first() is None:
            raise ValueError(f"a key named {name!r} already exists")
    return secret


async def revoke_key(engine: AsyncEngine, name: str) -> bool:
    async with engine.begin() as conn:
        return (await conn.execute(_REVOKE, {"name": name})).first() is not None


async def list_keys(engine: AsyncEngine) -> list[KeyInfo]:
    async with engine.connect() as conn:
        return [KeyInfo(*row) for row in (await conn.execute(_LIST)).all()]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <key>'.", headers=_CHALLENGE)
    return token.strip()


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="frontline"'}


async def authenticate(engine: AsyncEngine, settings: Settings, token: str) -> Principal:
    digest = hash_key(token, settings.key_pepper)
    async with engine.begin() as conn:
        row: Any = (await conn.execute(_FIND, {"hash": digest})).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise Unauthorized("The API key is not valid.", headers=_CHALLENGE)
        if row.revoked_at is not None:
            raise Unauthorized("The API key has been revoked.", headers=_CHALLENGE)
        await conn.execute(_USE, {"hash": digest})
    return Principal(row.name, granted(row.scopes))


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
            raise Unauthorized(f"This needs an API key with the {scope} scope.",
                               headers=_CHALLENGE)  # fmt: skip
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
