"""Dates as files write them: ISO 8601, or day and month with slashes or dots, with a time or
not (`23/09/2022`, `9/23/2022 4:05:00 PM`, `23.09.2022 16:05`). A day/month order is never
guessed: the mapping or `--date-format` says it, or the file's own values make it certain (a
first number above 12 is a day); otherwise the import stops, naming the column and two values.
"""

import re
from collections.abc import Iterable
from datetime import UTC, datetime

FORMATS = {"DD/MM/YYYY": "DMY", "MM/DD/YYYY": "MDY"}
SLASHED = re.compile(
    r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


class DateOrderError(ValueError):
    """A column whose day/month order neither the mapping nor the values settle."""


def order_of(date_format: str | None) -> str | None:
    """DMY or MDY for a `--date-format` / `file.date_format` value (None: not given)."""
    if date_format is None:
        return None
    if date_format.upper() not in FORMATS:
        raise DateOrderError(f"date format {date_format!r}: use {' or '.join(FORMATS)}")
    return FORMATS[date_format.upper()]


def order_from_values(column: str, values: Iterable[str]) -> str | None:
    """The order the column's slashed dates prove (None when it has none)."""
    slashed = [(m, v) for v in values if (m := SLASHED.match(v.strip()))]
    if not slashed:
        return None
    day_first = [v for m, v in slashed if int(m.group(1)) > 12]
    month_first = [v for m, v in slashed if int(m.group(2)) > 12]
    if day_first and month_first:
        raise DateOrderError(f"column {column}: {day_first[0]!r} puts the day first and "
                             f"{month_first[0]!r} the month; the column mixes both")  # fmt: skip
    if day_first or month_first:
        return "DMY" if day_first else "MDY"
    samples = ", ".join(repr(v) for _, v in slashed[:2])
    raise DateOrderError(f"column {column}: day and month cannot be told apart ({samples}); "
                         "say --date-format DD/MM/YYYY or MM/DD/YYYY (or file.date_format in "
                         "the mapping)")  # fmt: skip


def parse(value: str, order: str | None) -> datetime:
    """An aware datetime (UTC when the text has no offset); ValueError when it is not one."""
    text = value.strip()
    if match := SLASHED.match(text):
        if order is None:
            raise ValueError("a day/month date needs its order")
        first, second, year, hour, minute, second_s, half = match.groups()
        day, month = (first, second) if order == "DMY" else (second, first)
        hours = int(hour or 0)
        if half:  # 12-hour clock: 12:30 AM is 00:30, 12:30 PM is 12:30
            hours = hours % 12 + (12 if half.lower() == "pm" else 0)
        moment = datetime(int(year), int(month), int(day), hours, int(minute or 0),
                          int(second_s or 0))  # fmt: skip
    else:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
