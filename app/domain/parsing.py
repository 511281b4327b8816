"""Pure parsers for query-parameter text; each raises InvalidParameter naming the parameter."""

import math
import re
from datetime import UTC, date, datetime, timedelta

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, Interval, SortKey

# The grammar of each text parameter, as regular expressions the parsers below check and the
# OpenAPI document publishes (app/web/contract.py), so the two cannot drift apart. Rules a
# regular expression cannot state (ranges, order, calendar days) stay in the parsers and are
# spelled out in the parameters' descriptions.
NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_N = rf" *{NUMBER} *"  # the parsers trim spaces, and only spaces
BBOX_PATTERN = rf"^{_N},{_N},{_N},{_N}(,{_N},{_N})?$"
POINT_PATTERN = rf"^{_N},{_N}$"
DATE_PATTERN = r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
INSTANT_PATTERN = (
    rf"{DATE_PATTERN}[Tt ]([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{{1,9}})?"
    r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)"
)
_MOMENT = rf"({INSTANT_PATTERN}|{DATE_PATTERN})"
_END = rf"( *({_MOMENT}|\.\.)? *)"
DATETIME_PATTERN = rf"^ *({_MOMENT}|{_END}/{_END}) *$"
ENTITY_TAGS_PATTERN = r'^ *(\*|(W/)?"[!#-~]*"( *, *(W/)?"[!#-~]*")*) *$'


TEXT_ITEM = r"[^,\x00]*[^, \x00][^,\x00]*"  # any text with something besides spaces, no comma
# White space as Python's str.strip() sees it, spelled out: `\s` differs between regex engines
# (ECMA's, which validators use, has no \x1c-\x1f).
WHITE_SPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
SOME_TEXT = rf"^[^\x00]*[^\x00{WHITE_SPACE}][^\x00]*$"  # not only white space, no NUL


def one_of(items: list[str]) -> str:
    return "(" + "|".join(map(re.escape, items)) + ")"


def list_pattern(item: str = TEXT_ITEM, signed: bool = False) -> str:
    """A comma list of ``item``s, spaces allowed around each; ``signed``: each may start
    with + or -."""
    one = rf" *{'[+-]?' if signed else ''}{item} *"
    return rf"^{one}(,{one})*$"


_NUMBER = re.compile(NUMBER)
_DATE = re.compile(rf"^{DATE_PATTERN}$")
# The shape of an instant; fromisoformat then refuses month 13 or 25:00 with its own message,
# so together they accept exactly INSTANT_PATTERN (tests/unit/test_grammar.py).
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_DATETIME = re.compile(DATETIME_PATTERN)
_OPEN = {"", ".."}


def parse_bbox(text: str, parameter: str = "bbox") -> BBox:
    """``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights, which are ignored)."""
    parts = [p.strip(" ") for p in text.split(",")]
    if len(parts) not in (4, 6):
        raise InvalidParameter(
            parameter, f"expected 4 numbers minLon,minLat,maxLon,maxLat (or 6), got {len(parts)}"
        )
    numbers = [_finite_number(p, parameter) for p in parts]
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    min_lon, min_lat, max_lon, max_lat = numbers
    for value in (min_lon, max_lon):
        if not -180.0 <= value <= 180.0:
            raise InvalidParameter(parameter, f"longitude {value:g} is outside [-180, 180]")
    for value in (min_lat, max_lat):
        if not -90.0 <= value <= 90.0:
            raise InvalidParameter(parameter, f"latitude {value:g} is outside [-90, 90]")
    if min_lat > max_lat:
        raise InvalidParameter(parameter, "minLat is greater than maxLat")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def _finite_number(text: str, parameter: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidParameter(parameter, f"{text!r} is not a finite number")
    if not _NUMBER.fullmatch(text):  # float() also reads "1_000" and "١٢"
        raise InvalidParameter(parameter, f"{text!r} is not a decimal number such as -12.5")
    return value


def parse_instant(text: str, parameter: str = "datetime") -> datetime:
    """An RFC 3339 date-time with a zone offset, returned in UTC."""
    if not _INSTANT.match(text):
        raise InvalidParameter(
            parameter,
            f"{text!r} is not an RFC 3339 date-time such as 2025-03-17T10:00:00Z",
        )
    normalized = text.replace("z", "Z").replace("t", "T").replace(" ", "T")
    try:
        return datetime.fromisoformat(normalized).astimezone(UTC)
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not a valid date-time") from None
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is still in year 0 in UTC
        raise InvalidParameter(parameter, f"{text!r} is outside years 1 to 9999 in UTC") from None


def parse_date(text: str, parameter: str = "datetime") -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not a valid date") from None


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        return start, start + timedelta(days=1)
    except OverflowError:  # 9999-12-31: the day still ends, just beyond datetime's range
        return start, datetime.max.replace(tzinfo=UTC)


def _parse_end(text: str, parameter: str) -> tuple[datetime | None, bool]:
    """An interval end: open, an instant (inclusive) or a date (up to the next midnight)."""
    if text in _OPEN:
        return None, True
    if _DATE.match(text):
        return _day_bounds(parse_date(text, parameter))[1], False
    return parse_instant(text, parameter), True


def _parse_start(text: str, parameter: str) -> datetime | None:
    if text in _OPEN:
        return None
    if _DATE.match(text):
        return _day_bounds(parse_date(text, parameter))[0]
    return parse_instant(text, parameter)


def parse_datetime(text: str, parameter: str = "datetime") -> Interval:
    """OGC API datetime: an instant, a date (that whole UTC day) or ``start/end`` with open ends."""
    interval = _interval(text.strip(), parameter)
    if not _DATETIME.match(text):  # what the checks above let through beyond the grammar
        raise InvalidParameter(
            parameter, f"{text!r} is not an instant, a date or an interval start/end"
        )
    return interval


def _interval(text: str, parameter: str) -> Interval:
    if "/" not in text:
        if text in _OPEN:
            raise InvalidParameter(parameter, "an open end is only allowed in an interval")
        if _DATE.match(text):
            day_start, day_end = _day_bounds(parse_date(text, parameter))
            return Interval(day_start, day_end, end_inclusive=False)
        instant = parse_instant(text, parameter)
        return Interval(instant, instant)
    if text.count("/") != 1:
        raise InvalidParameter(parameter, "an interval has exactly one '/' between start and end")
    start_text, end_text = (part.strip() for part in text.split("/"))
    start = _parse_start(start_text, parameter)
    end, inclusive = _parse_end(end_text, parameter)
    if start is not None and end is not None and (end < start or (end == start and not inclusive)):
        raise InvalidParameter(parameter, "the interval ends before it starts")
    return Interval(start, end, end_inclusive=inclusive)


def parse_csv_list(text: str, parameter: str, allowed: list[str] | None = None) -> tuple[str, ...]:
    """A comma list of non-empty values (repeats count once), checked against ``allowed``."""
    parts = [p.strip(" ") for p in text.split(",")]
    if not all(parts):
        raise InvalidParameter(parameter, "expected a comma list of values, none of them empty")
    items = tuple(dict.fromkeys(parts))
    if allowed is not None:
        unknown = [item for item in items if item not in allowed]
        if unknown:
            raise InvalidParameter(
                parameter, f"unknown value {unknown[0]!r}; allowed: {', '.join(allowed)}"
            )
    return items


def parse_sortby(text: str, allowed: list[str], parameter: str = "sortby") -> tuple[SortKey, ...]:
    """``-occurred_at,id``: allowed names with an optional +/- direction; id breaks ties."""
    keys: list[SortKey] = []
    for item in parse_csv_list(text, parameter):
        descending = item.startswith("-")
        name = item[1:] if item[:1] in "+-" else item
        if name not in allowed:
            raise InvalidParameter(
                parameter, f"cannot sort by {name!r}; sortable: {', '.join(allowed)}"
            )
        if any(key.name == name for key in keys):
            raise InvalidParameter(parameter, f"{name!r} appears twice")
        keys.append(SortKey(name, descending))
    if not any(key.name == "id" for key in keys):
        keys.append(SortKey("id", keys[-1].descending))
    return tuple(keys)


def parse_point(text: str, parameter: str = "near") -> tuple[float, float]:
    """``lon,lat`` in WGS84 degrees."""
    parts = [p.strip(" ") for p in text.split(",")]
    if len(parts) != 2:
        raise InvalidParameter(parameter, f"expected lon,lat, got {len(parts)} values")
    lon, lat = (_finite_number(p, parameter) for p in parts)
    if not -180.0 <= lon <= 180.0:
        raise InvalidParameter(parameter, f"longitude {lon:g} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise InvalidParameter(parameter, f"latitude {lat:g} is outside [-90, 90]")
    return lon, lat
