"""Keyset cursors: they round-trip, and anything forged is a 400, never a database error."""

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.cursors import decode_cursor, encode_cursor
from app.domain.errors import InvalidParameter
from app.domain.filters import DEFAULT_EVENT_SORT, SortKey
from app.store.queries.events import EVENT_SORT_TYPES


def forged(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_round_trip() -> None:
    moment = datetime(2025, 3, 18, 6, 30, tzinfo=UTC)
    text = encode_cursor(DEFAULT_EVENT_SORT, (moment, 42), backward=True)
    cursor = decode_cursor(text, DEFAULT_EVENT_SORT, EVENT_SORT_TYPES)
    assert cursor.values == (moment, 42)
    assert cursor.backward is True


def test_cursor_from_another_sort_order_is_rejected() -> None:
    text = encode_cursor(DEFAULT_EVENT_SORT, (datetime(2025, 1, 1, tzinfo=UTC), 1), False)
    other = (SortKey("occurred_at", descending=True), SortKey("id"))
    with pytest.raises(InvalidParameter, match="different sortby"):
        decode_cursor(text, other, EVENT_SORT_TYPES)


@pytest.mark.parametrize(
    "payload",
    [
        {"s": "occurred_at,id", "v": ["2025-01-01T00:00:00Z", "1; DROP TABLE events"]},
        {"s": "occurred_at,id", "v": [12, 1]},
        {"s": "occurred_at,id", "v": ["not a time", 1]},
        {"s": "occurred_at,id", "v": ["2025-01-01T00:00:00Z"]},
        {"s": "occurred_at,id", "v": ["2025-01-01T00:00:00Z", 2**70]},
        {"s": "occurred_at,id", "v": ["2025-01-01T00:00:00Z", True]},
        ["occurred_at,id"],
    ],
)
def test_forged_cursors_are_400(payload: object) -> None:
    with pytest.raises(InvalidParameter) as err:
        decode_cursor(forged(payload), DEFAULT_EVENT_SORT, EVENT_SORT_TYPES)
    assert err.value.parameter == "cursor"


@given(st.text(max_size=80))
def test_any_text_is_a_cursor_or_a_400(text: str) -> None:
    try:
        decode_cursor(text, DEFAULT_EVENT_SORT, EVENT_SORT_TYPES)
    except InvalidParameter as err:
        assert err.parameter == "cursor"
