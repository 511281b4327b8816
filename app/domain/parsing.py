"""Pure parsers for query-parameter text; each raises InvalidParameter naming the parameter."""

import math
import re
from datetime import UTC, date, datetime, timedelta

from app.domain.errors import InvalidParameter
from app.domain.filters import BBox, Interval, SortKey

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
)
_OPEN = {"", ".."}


def parse_bbox(text: str, parameter: str = "bbox") -> BBox:
    """``minLon,minLat,maxLon,maxLat`` (or 6 numbers with heights, which are ignored)."""
    parts = [p.strip() for p in text.split(",")]
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
        value = datetime.fromisoformat(normalized)
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not a valid date-time") from None
    return value.astimezone(UTC)


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
    text = text.strip()
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
    """A comma list of distinct non-empty values, checked against ``allowed`` when given."""
    items = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not items:
        raise InvalidParameter(parameter, "expected at least one value")
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
        name = item.lstrip("+-").strip()
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
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise InvalidParameter(parameter, f"expected lon,lat, got {len(parts)} values")
    lon, lat = (_finite_number(p, parameter) for p in parts)
    if not -180.0 <= lon <= 180.0:
        raise InvalidParameter(parameter, f"longitude {lon:g} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise InvalidParameter(parameter, f"latitude {lat:g} is outside [-90, 90]")
    return lon, lat
