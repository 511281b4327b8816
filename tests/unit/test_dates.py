"""Day/month dates: parsed in the order given, the order proved by the values or refused."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest.dates import DateOrderError, order_from_values, order_of, parse

moments = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


@given(moment=moments, separator=st.sampled_from("/.-"), twelve=st.booleans())
def test_any_day_month_date_parses_back_in_either_order(
    moment: datetime, separator: str, twelve: bool
) -> None:
    half = "PM" if moment.hour >= 12 else "AM"
    minutes = f"{moment.minute:02d}:{moment.second:02d}"
    clock = f"{moment.hour % 12 or 12}:{minutes} {half}" if twelve else f"{moment.hour}:{minutes}"
    dmy = f"{moment.day}{separator}{moment.month}{separator}{moment.year} {clock}"
    mdy = f"{moment.month}{separator}{moment.day}{separator}{moment.year} {clock}"
    assert parse(dmy, "DMY") == parse(mdy, "MDY") == moment.replace(tzinfo=UTC)


def test_iso_needs_no_order_and_keeps_its_offset() -> None:
    assert parse("2025-03-10T06:00:00+02:00", None).utcoffset().total_seconds() == 7200  # type: ignore[union-attr]
    assert parse("2025-03-10", None) == datetime(2025, 3, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="needs its order"):
        parse("10/03/2025", None)


def test_the_values_prove_the_order_or_the_import_stops() -> None:
    assert order_from_values("Date", ["01/02/2025", "23/09/2022"]) == "DMY"
    assert order_from_values("Date", ["01/02/2025", "9/23/2022 4:05:00 PM"]) == "MDY"
    assert order_from_values("Date", ["2025-02-01"]) is None
    with pytest.raises(DateOrderError, match=r"column Date: day and month cannot be told apart "
                       r"\('01/02/2025', '03/04/2025'\)"):  # fmt: skip
        order_from_values("Date", ["01/02/2025", "03/04/2025", "05/06/2025"])
    with pytest.raises(DateOrderError, match="the column mixes both"):
        order_from_values("Date", ["23/09/2022", "9/23/2022"])


def test_a_date_format_is_one_of_two() -> None:
    assert (order_of("dd/mm/yyyy"), order_of("MM/DD/YYYY"), order_of(None)) == ("DMY", "MDY", None)
    with pytest.raises(DateOrderError, match="use DD/MM/YYYY or MM/DD/YYYY"):
        order_of("YYYY/MM/DD")
