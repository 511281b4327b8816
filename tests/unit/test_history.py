"""Per-field diffs between revisions."""

from app.services.history import field_changes


def test_first_revision_lists_every_field_from_none() -> None:
    assert field_changes({}, {"title": "A", "version": 1}) == {"title": {"from": None, "to": "A"}}


def test_only_real_changes_are_listed() -> None:
    before = {"title": "A", "verification": "claimed", "version": 1, "updated_at": "t1"}
    after = {"title": "A", "verification": "disputed", "version": 2, "updated_at": "t2"}
    assert field_changes(before, after) == {"verification": {"from": "claimed", "to": "disputed"}}


def test_removed_and_added_fields() -> None:
    assert field_changes({"a": 1}, {"b": 2}) == {"a": {"from": 1, "to": None},
                                                  "b": {"from": None, "to": 2}}  # fmt: skip
