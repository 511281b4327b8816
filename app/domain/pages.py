"""Turn fetched page rows into features and the cursors to the neighbouring pages (pure)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.domain.cursors import encode_cursor
from app.domain.filters import Page


@dataclass(frozen=True)
class FeaturePage:
    """A page of rows (a feature text, or flat CSV values) and the cursors to its neighbours;
    or, for GeoJSON, the Features already joined by PostgreSQL (``joined``, ``returned``)."""

    rows: list[tuple[Any, ...]]
    next_cursor: str | None
    prev_cursor: str | None
    number_matched: int | None = None
    joined: bytes | memoryview | None = None  # a view: cutting the extra row copies nothing
    returned: int = 0

    @property
    def features(self) -> list[str]:
        return [row[0] for row in self.rows]

    @property
    def number_returned(self) -> int:
        return self.returned if self.joined is not None else len(self.rows)


def build_page(rows: Sequence[Any], page: Page) -> FeaturePage:
    """Rows end with the sort-key values k0..kn; one extra row means there is a next page."""
    kept = [tuple(row) for row in rows[: page.limit]]
    if page.backward:
        kept.reverse()
    if not kept:
        return FeaturePage([], None, None)
    width = len(page.sort)
    cursors = _cursors(page, len(rows), kept[0][-width:], kept[-1][-width:])
    return FeaturePage([row[:-width] for row in kept], *cursors)


def build_joined_page(row: Any, page: Page) -> FeaturePage:
    """The one row of ``joined_page``: body, rows, extra_bytes, first0..firstn, last0..lastn."""
    body, fetched, extra_bytes, *keys = row
    if body is None:
        return FeaturePage([], None, None, joined=b"")
    if extra_bytes is not None:  # the row past the limit, and the comma before it
        body = memoryview(body)[: -(extra_bytes + 1)]
    width = len(page.sort)
    cursors = _cursors(page, fetched, tuple(keys[:width]), tuple(keys[width:]))
    return FeaturePage([], *cursors, joined=body, returned=min(fetched, page.limit))


def _cursors(
    page: Page, fetched: int, first: tuple[Any, ...], last: tuple[Any, ...]
) -> tuple[str | None, str | None]:
    """Cursors after the last and before the first row kept (in page order)."""
    has_more = fetched > page.limit
    more_after = has_more if not page.backward else True
    more_before = (page.cursor is not None) if not page.backward else has_more
    next_cursor = encode_cursor(page.sort, last, False) if more_after else None
    prev_cursor = encode_cursor(page.sort, first, True) if more_before else None
    return next_cursor, prev_cursor
