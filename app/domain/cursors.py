"""Opaque keyset cursors: base64url JSON of the sort signature and the edge row's key values."""

import base64
import binascii
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from app.domain.errors import InvalidParameter
from app.domain.filters import Cursor, CursorValue, SortKey
from app.domain.parsing import parse_instant


def sort_signature(sort: tuple[SortKey, ...]) -> str:
    return ",".join(("-" if key.descending else "") + key.name for key in sort)


def _plain(value: Any) -> str | int | float:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str | int | float):
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def encode_cursor(sort: tuple[SortKey, ...], values: tuple[Any, ...], backward: bool) -> str:
    payload = {"s": sort_signature(sort), "v": [_plain(v) for v in values], "b": backward}
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(text: str, sort: tuple[SortKey, ...], types: Mapping[str, type]) -> Cursor:
    """Decode and check a cursor against the request's sort order; 400 on any mismatch."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        payload = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise InvalidParameter("cursor", "not a cursor issued by this service") from None
    if not isinstance(payload, dict) or payload.get("s") != sort_signature(sort):
        raise InvalidParameter("cursor", "the cursor belongs to a different sortby; start over")
    values = payload.get("v")
    if not isinstance(values, list) or len(values) != len(sort):
        raise InvalidParameter("cursor", "not a cursor issued by this service")
    typed = tuple(_typed(v, types[key.name]) for v, key in zip(values, sort, strict=True))
    return Cursor(typed, backward=payload.get("b") is True)


def _typed(value: Any, expected: type) -> CursorValue:
    """Check one key value's type, so a forged cursor is a 400 and never a database error."""
    if expected is datetime and isinstance(value, str):
        return parse_instant(value, "cursor")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if expected is int and is_int and abs(value) < 2**63:
        return int(value)
    if expected is str and isinstance(value, str) and "\x00" not in value:
        return str(value)
    raise InvalidParameter("cursor", "not a cursor issued by this service")
