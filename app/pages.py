"""Turn fetched page rows into features, cursors and links (pure; no I/O)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import URL

from app.cursors import encode_cursor
from app.filters import Page

GEOJSON = "application/geo+json"


@dataclass(frozen=True)
class FeaturePage:
    """A page of rows (a feature text, or flat CSV values) and the cursors to its neighbours."""

    rows: list[tuple[Any, ...]]
    next_cursor: str | None
    prev_cursor: str | None
    number_matched: int | None = None

    @property
    def features(self) -> list[str]:
        return [row[0] for row in self.rows]


def build_page(rows: Sequence[Any], page: Page) -> FeaturePage:
    """Rows end with the sort-key values k0..kn; one extra row means there is a next page."""
    backward = page.cursor is not None and page.cursor.backward
    has_more = len(rows) > page.limit
    kept = [tuple(row) for row in rows[: page.limit]]
    if backward:
        kept.reverse()
    if not kept:
        return FeaturePage([], None, None)
    width = len(page.sort)
    more_after = has_more if not backward else True
    more_before = (page.cursor is not None) if not backward else has_more
    next_cursor = encode_cursor(page.sort, kept[-1][-width:], False) if more_after else None
    prev_cursor = encode_cursor(page.sort, kept[0][-width:], True) if more_before else None
    return FeaturePage([row[:-width] for row in kept], next_cursor, prev_cursor)


def page_links(url: URL, page: FeaturePage, media_type: str = GEOJSON) -> list[dict[str, str]]:
    """self/next/prev links that keep every other query parameter."""
    links = [{"href": str(url), "rel": "self", "type": media_type, "title": "This page"}]
    for rel, cursor, title in (
        ("next", page.next_cursor, "Next page"),
        ("prev", page.prev_cursor, "Previous page"),
    ):
        if cursor is not None:
            href = str(url.include_query_params(cursor=cursor))
            links.append({"href": href, "rel": rel, "type": media_type, "title": title})
    return links


def link_header(links: list[dict[str, str]]) -> str:
    """RFC 8288 Link header for the navigation links."""
    return ", ".join(
        f'<{link["href"]}>; rel="{link["rel"]}"; type="{link["type"]}"'
        for link in links
        if link["rel"] in {"next", "prev"}
    )
