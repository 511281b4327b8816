"""Query-parameter parsers: exact results for good text, named 400s for bad text."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, Interval
from app.domain.parsing import parse_bbox, parse_csv_list, parse_datetime, parse_instant
from app.web.problems import status_of


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class TestBBox:
    def test_four_numbers(self) -> None:
        assert parse_bbox("35.0,50.8,35.8,51.3") == BBox(35.0, 50.8, 35.8, 51.3)

    def test_six_numbers_drop_heights(self) -> None:
        assert parse_bbox("35,50.8,-100,35.8,51.3,900") == BBox(35, 50.8, 35.8, 51.3)

    def test_antimeridian_box_splits_in_two(self) -> None:
        box = parse_bbox("170,-10,-170,10")
        assert box.crosses_antimeridian
        assert box.parts() == (BBox(170, -10, 180, 10), BBox(-180, -10, -170, 10))

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("1,2,3", "expected 4 numbers minLon,minLat,maxLon,maxLat (or 6), got 3"),
            ("1,2,3,4,5", "expected 4 numbers minLon,minLat,maxLon,maxLat (or 6), got 5"),
            ("35,95,36,96", "latitude 95 is outside [-90, 90]"),
            ("35,50,36,-91", "latitude -91 is outside [-90, 90]"),
            ("190,50,36,51", "longitude 190 is outside [-180, 180]"),
            ("a,50,36,51", "'a' is not a number"),
            ("nan,50,36,51", "'nan' is not a finite number"),
            ("35,inf,36,51", "'inf' is not a finite number"),
            ("35,52,36,51", "minLat is greater than maxLat"),
            ("", "expected 4 numbers minLon,minLat,maxLon,maxLat (or 6), got 1"),
        ],
    )
    def test_bad_boxes_name_the_parameter(self, text: str, message: str) -> None:
        with pytest.raises(InvalidParameter) as err:
            parse_bbox(text)
        assert err.value.parameter == "bbox"
        assert err.value.errors == [{"parameter": "bbox", "in": "query", "message": message}]

    @given(st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90))
    def test_any_valid_box_round_trips(self, x1: float, y1: float, x2: float, y2: float) -> None:
        lo, hi = sorted((y1, y2))
        assert parse_bbox(f"{x1!r},{lo!r},{x2!r},{hi!r}") == BBox(x1, lo, x2, hi)

    @given(st.text(max_size=60))
    def test_any_text_parses_or_raises_a_named_400(self, text: str) -> None:
        try:
            box = parse_bbox(text)
        except InvalidParameter as err:
            assert status_of(err) == 400 and err.parameter == "bbox"
        else:
            assert -90 <= box.min_lat <= box.max_lat <= 90


class TestDatetime:
    def test_instant(self) -> None:
        t = utc(2025, 3, 17, 10, 0)
        assert parse_datetime("2025-03-17T10:00:00Z") == Interval(t, t)

    def test_instant_with_offset_is_converted_to_utc(self) -> None:
        t = utc(2025, 3, 17, 7, 0)
        assert parse_datetime("2025-03-17T10:00:00+03:00") == Interval(t, t)

    def test_date_is_the_whole_utc_day(self) -> None:
        assert parse_datetime("2025-03-17") == Interval(
            utc(2025, 3, 17), utc(2025, 3, 18), end_inclusive=False
        )

    def test_closed_interval_of_dates_includes_the_last_day(self) -> None:
        assert parse_datetime("2025-03-01/2025-03-31") == Interval(
            utc(2025, 3, 1), utc(2025, 4, 1), end_inclusive=False
        )

    def test_closed_interval_of_instants(self) -> None:
        assert parse_datetime("2025-03-01T00:00:00Z/2025-03-02T12:00:00Z") == Interval(
            utc(2025, 3, 1), utc(2025, 3, 2, 12)
        )

    @pytest.mark.parametrize("open_end", ["..", ""])
    def test_open_ends(self, open_end: str) -> None:
        assert parse_datetime(f"2025-03-01/{open_end}") == Interval(utc(2025, 3, 1), None)
        assert parse_datetime(f"{open_end}/2025-03-01T00:00:00Z") == Interval(None, utc(2025, 3, 1))

    def test_fully_open_interval_is_unbounded(self) -> None:
        assert parse_datetime("../..").is_unbounded

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("yesterday", "'yesterday' is not an RFC 3339 date-time such as 2025-03-17T10:00:00Z"),
            (
                "2025-03-17T10:00:00",
                "'2025-03-17T10:00:00' is not an RFC 3339 date-time such as 2025-03-17T10:00:00Z",
            ),
            ("2025-02-30", "'2025-02-30' is not a valid date"),
            ("0000-01-01", "'0000-01-01' is not a valid date"),
            ("2025-03-31/2025-03-01", "the interval ends before it starts"),
            ("2025-03-02T00:00:00Z/2025-03-01", "the interval ends before it starts"),
            ("a/b/c", "an interval has exactly one '/' between start and end"),
            ("..", "an open end is only allowed in an interval"),
            ("2025-13-01T00:00:00Z", "'2025-13-01T00:00:00Z' is not a valid date-time"),
        ],
    )
    def test_bad_values_name_the_parameter(self, text: str, message: str) -> None:
        with pytest.raises(InvalidParameter) as err:
            parse_datetime(text)
        assert err.value.errors[0]["parameter"] == "datetime"
        assert err.value.errors[0]["message"] == message

    @given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    def test_any_instant_round_trips(self, moment: datetime) -> None:
        moment = moment.replace(tzinfo=UTC)
        assert parse_instant(moment.isoformat()) == moment

    @given(st.dates(), st.dates())
    def test_date_intervals_cover_whole_days(self, a: date, b: date) -> None:
        start, end = sorted((a, b))
        interval = parse_datetime(f"{start.isoformat()}/{end.isoformat()}")
        assert interval.start == datetime(start.year, start.month, start.day, tzinfo=UTC)
        assert interval.end_inclusive is False
        assert interval.end is not None and interval.end > interval.start
        if end < date.max:
            assert interval.end - timedelta(days=1) == datetime(
                end.year, end.month, end.day, tzinfo=UTC
            )

    @given(st.text(max_size=60))
    def test_any_text_parses_or_raises_a_named_400(self, text: str) -> None:
        try:
            interval = parse_datetime(text)
        except InvalidParameter as err:
            assert err.parameter == "datetime"
        else:
            if interval.start and interval.end:
                assert interval.start <= interval.end


class TestCsvList:
    def test_deduplicates_and_keeps_order(self) -> None:
        assert parse_csv_list("battle, shelling,battle", "event_type") == ("battle", "shelling")

    def test_rejects_unknown_values(self) -> None:
        with pytest.raises(InvalidParameter) as err:
            parse_csv_list("battle,picnic", "event_type", ["battle", "shelling"])
        assert err.value.errors[0]["message"] == "unknown value 'picnic'; allowed: battle, shelling"

    def test_rejects_empty(self) -> None:
        with pytest.raises(InvalidParameter):
            parse_csv_list(" , ", "kind")
