"""Log positions (`X/Y`) as the Frontline-Consistency token carries them: read back exactly,
ordered as PostgreSQL orders them, and anything else refused."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.store.replicas import format_lsn, parse_lsn

POSITIONS = st.integers(min_value=0, max_value=2**64 - 1)


@given(POSITIONS)
def test_a_position_reads_back_as_itself(position: int) -> None:
    assert parse_lsn(format_lsn(position)) == position


@given(POSITIONS, POSITIONS)
def test_positions_order_as_their_halves_do(a: int, b: int) -> None:
    def halves(text: str) -> tuple[int, int]:
        high, low = text.split("/")
        return int(high, 16), int(low, 16)

    assert (a < b) == (halves(format_lsn(a)) < halves(format_lsn(b)))


def test_postgresql_spellings_are_read() -> None:
    assert parse_lsn("0/16B3748") == 0x16B3748
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn("ffffffff/ffffffff") == 2**64 - 1


@pytest.mark.parametrize("bad", ["", "0", "/1", "1/", "-1/2", "0x1/2", "1/2/3", "g/1",
                                 "123456789/0", " 0/1", "0/1 ", "１/2"])  # fmt: skip
def test_anything_else_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_lsn(bad)
