"""API keys: creation, hashing, revocation, and who a presented key belongs to.

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
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import Unauthorized
from app.domain.vocab import Scope
from app.settings import Settings

KEY_PREFIX = "fl_"
IMPLIED = {
    Scope.READ: {Scope.READ},
    Scope.WRITE: {Scope.READ, Scope.WRITE},
    Scope.ADMIN: {Scope.READ, Scope.WRITE, Scope.ADMIN},
}


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


async def authenticate(engine: AsyncEngine, settings: Settings, token: str) -> Principal:
    """The Principal a presented key belongs to; Unauthorized when it is unknown or revoked."""
    digest = hash_key(token, settings.key_pepper)
    async with engine.begin() as conn:
        row: Any = (await conn.execute(_FIND, {"hash": digest})).first()
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            raise Unauthorized("The API key is not valid.")
        if row.revoked_at is not None:
            raise Unauthorized("The API key has been revoked.")
        await conn.execute(_USE, {"hash": digest})
    return Principal(row.name, granted(row.scopes))
