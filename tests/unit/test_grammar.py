"""The grammar the OpenAPI document publishes (app.domain.parsing's patterns) and the parsers
agree: whatever breaks the pattern is refused, and what follows it is refused only for the
rules the descriptions state (ranges, order, calendar days)."""

import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidParameter
from app.domain.parsing import (
    BBOX_PATTERN,
    DATETIME_PATTERN,
    INSTANT_PATTERN,
    POINT_PATTERN,
    list_pattern,
    one_of,
    parse_bbox,
    parse_csv_list,
    parse_datetime,
    parse_instant,
    parse_point,
    parse_sortby,
)
from app.store.queries.events import EVENT_SORTABLE

SORTABLE = list(EVENT_SORTABLE)
SORTBY_PATTERN = list_pattern(one_of(SORTABLE), signed=True)
# (pattern, parser, what a text that follows the pattern may still be refused for)
GRAMMARS: dict[str, tuple[str, Callable[[str], Any], tuple[str, ...]]] = {
    "bbox": (BBOX_PATTERN, parse_bbox, ("outside", "minLat is greater", "finite")),
    "near": (POINT_PATTERN, parse_point, ("outside", "finite")),
    "datetime": (DATETIME_PATTERN, parse_datetime,
                 ("not a valid date", "ends before it starts", "outside years")),
    "instant": (f"^{INSTANT_PATTERN}$", parse_instant, ("not a valid date-time", "outside years")),
    "sortby": (SORTBY_PATTERN, lambda text: parse_sortby(text, SORTABLE), ("appears twice",)),
    "list": (list_pattern(), lambda text: parse_csv_list(text, "source"), ()),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(GRAMMARS))
def test_what_follows_the_pattern_is_refused_only_for_a_stated_rule(name: str) -> None:
    pattern, parser, stated = GRAMMARS[name]

    @given(st.from_regex(pattern, fullmatch=True))
    def check(text: str) -> None:
        try:
            parser(text)
        except InvalidParameter as error:
            assert any(rule in error.detail for rule in stated), (text, error.detail)

    check()


@pytest.mark.parametrize("name", sorted(GRAMMARS))
def test_what_breaks_the_pattern_is_refused(name: str) -> None:
    pattern, parser, _ = GRAMMARS[name]
    near_misses = st.from_regex(pattern, fullmatch=True).flatmap(
        lambda text: st.sampled_from([text + "x", "x" + text, text.replace(",", ";"),
                                      text + "\t", text.replace("0", "٠"), text[:-1]])
    )  # fmt: skip

    @given(st.one_of(st.text(max_size=40), near_misses))
    def check(text: str) -> None:
        if re.match(pattern, text) or "\x00" in text:  # NUL: refused for every parameter
            return
        with pytest.raises(InvalidParameter):
            parser(text)

    check()
