"""Navigation links of a page: self/next/prev in the body and the RFC 8288 Link header."""

from starlette.datastructures import URL

from app.domain.pages import FeaturePage

GEOJSON = "application/geo+json"


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
