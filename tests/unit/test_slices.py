"""The slices a bbox + window page walks: contiguous, in walking order, doubling, few, and
covering every instant a matching event can start at."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from app.domain.filters import BBox, Cursor, EventFilter, Interval, Page, SortKey
from app.store.queries import slices

instants = st.datetimes(datetime(2020, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC))
lengths = st.timedeltas(timedelta(0), timedelta(days=3000))
MOST = 9  # the events before the window, then at most log2(64) + 2 slices


def sizes(lo: list[datetime | None], hi: list[datetime | None]) -> list[timedelta]:
    return [h - low for low, h in zip(lo, hi, strict=True) if low is not None and h is not None]


@given(start=instants, length=lengths)
def test_forward_slices_start_before_the_window_and_double(
    start: datetime, length: timedelta
) -> None:
    lo, hi = slices.slice_bounds(Interval(start, start + length), Page(10))
    assert (lo[0], hi[0]) == (None, start)  # the events that began before the window
    assert lo[1] == start and hi[-1] is None
    assert hi[:-1] == lo[1:]  # contiguous, nothing skipped
    steps = sizes(lo, hi)
    assert all(b == a * 2 for a, b in pairwise(steps))
    assert len(lo) <= MOST


@given(start=instants, length=lengths, offset=st.timedeltas(timedelta(0), timedelta(days=4000)))
def test_forward_slices_start_at_a_cursor_past_the_window_start(
    start: datetime, length: timedelta, offset: timedelta
) -> None:
    at = start + offset
    lo, hi = slices.slice_bounds(Interval(start, start + length), Page(10, Cursor((at, 5))))
    assert lo[0] == at and hi[-1] is None and hi[:-1] == lo[1:]
    assert len(lo) <= MOST


@given(start=instants, length=lengths, back=st.timedeltas(timedelta(0), timedelta(days=4000)))
def test_backward_slices_walk_down_to_the_events_before_the_window(
    start: datetime, length: timedelta, back: timedelta
) -> None:
    end = start + length
    cursor = Cursor((end + timedelta(days=1) - back, 5), backward=True)
    lo, hi = slices.slice_bounds(Interval(start, end), Page(10, cursor))
    assert hi[0] is None or hi[0] == start  # open above: the cursor's instant, an inclusive end
    assert (lo[-1], hi[-1]) == (None, start)
    assert lo[:-1] == hi[1:]  # contiguous, walking down
    assert all(low is None or low >= start for low in lo)
    assert len(lo) <= MOST


def test_only_bbox_and_window_pages_in_time_order_are_sliced() -> None:
    window = Interval(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC))
    box = BBox(30, 45, 32, 47)
    assert slices.applies(EventFilter(bbox=box, interval=window), Page(10))
    assert slices.applies(EventFilter(bbox=box, interval=window, event_types=("shelling",)),
                          Page(10))  # fmt: skip
    assert not slices.applies(EventFilter(bbox=box), Page(10))
    assert not slices.applies(EventFilter(interval=window), Page(10))
    assert not slices.applies(
        EventFilter(bbox=box, interval=Interval(window.start, None)), Page(10)
    )
    assert not slices.applies(EventFilter(bbox=BBox(170, 45, -170, 47), interval=window), Page(10))
    assert not slices.applies(EventFilter(bbox=box, interval=window, text="Sudzha"), Page(10))
    by_fatalities = (SortKey("fatalities"), SortKey("id"))
    assert not slices.applies(EventFilter(bbox=box, interval=window), Page(10, sort=by_fatalities))
