"""SQL builders compiled against the PostgreSQL dialect: the clauses a filter produces."""

from datetime import UTC, datetime

from sqlalchemy.dialects import postgresql

from app.domain.filters import BBox, Cursor, EventFilter, Interval, Page, SortKey
from app.store.queries.common import json_object
from app.store.queries.event_filters import event_conditions
from app.store.queries.events import events_csv_page, events_page, keyset_clause


def sql(clause: object) -> str:
    return str(clause.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]


def test_default_filter_only_hides_deleted_events() -> None:
    assert [sql(c) for c in event_conditions(EventFilter())] == ["events.deleted_at IS NULL"]


def test_bbox_uses_the_index_operator() -> None:
    (_, clause) = event_conditions(EventFilter(bbox=BBox(35, 50, 36, 51)))
    assert "events.geom && ST_MakeEnvelope(" in sql(clause)


def test_antimeridian_bbox_is_two_envelopes() -> None:
    (_, clause) = event_conditions(EventFilter(bbox=BBox(170, -10, -170, 10)))
    assert sql(clause).count("events.geom && ST_MakeEnvelope(") == 2
    assert " OR " in sql(clause)


def test_interval_intersects_the_event_span() -> None:
    interval = Interval(datetime(2025, 3, 1, tzinfo=UTC), None)
    (_, clause, *bounds) = event_conditions(EventFilter(interval=interval))
    assert "events.during && tstzrange(" in sql(clause)
    # and a range on occurred_at for the index: no end, so only the lower bound
    assert [sql(b) for b in bounds] == [
        "events.occurred_at >= earliest_start_covering(%(start)s::TIMESTAMP WITH TIME ZONE)"
    ]


def test_closed_interval_bounds_starts_on_both_sides() -> None:
    interval = Interval(datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC), False)
    (_, _, *bounds) = event_conditions(EventFilter(interval=interval))
    assert [sql(b) for b in bounds] == [
        "events.occurred_at >= earliest_start_covering(%(start)s::TIMESTAMP WITH TIME ZONE)",
        "events.occurred_at < %(end)s::TIMESTAMP WITH TIME ZONE",
    ]


def test_uniform_sort_uses_a_row_comparison() -> None:
    cursor = Cursor((datetime(2025, 1, 1, tzinfo=UTC), 5))
    clause = keyset_clause((SortKey("occurred_at"), SortKey("id")), cursor)
    assert "(events.occurred_at, events.id) > (" in sql(clause)


def test_mixed_sort_expands_to_or_chain() -> None:
    cursor = Cursor((datetime(2025, 1, 1, tzinfo=UTC), 5))
    clause = keyset_clause((SortKey("occurred_at", descending=True), SortKey("id")), cursor)
    text = sql(clause)
    assert "events.occurred_at < " in text and "events.id > " in text


def test_page_fetches_one_extra_row_and_never_offsets() -> None:
    text = sql(events_page(EventFilter(), Page(limit=10)))
    assert "LIMIT" in text and "OFFSET" not in text
    assert "ORDER BY events.occurred_at ASC, events.id ASC" in text


def test_pages_of_stored_features_do_not_join_places() -> None:
    """Only what names the place (built Features: property lists; CSV) joins it."""
    page = Page(limit=10)
    assert "places" not in sql(events_page(EventFilter(), page))
    assert "events.feature" in sql(events_page(EventFilter(), page))
    for built in (events_page(EventFilter(), page, ("title", "place_name")),
                  events_page(EventFilter(), page, stored=False),
                  events_csv_page(EventFilter(), page)):  # fmt: skip
        assert "LEFT OUTER JOIN places ON places.id = events.place_id" in sql(built)
        assert "events.feature" not in sql(built)


def test_json_object_rejects_too_many_pairs() -> None:
    import pytest
    from sqlalchemy import literal

    with pytest.raises(ValueError, match="at most 50 pairs"):
        json_object({str(i): literal(i) for i in range(51)})
