"""The verification rule of app.domain.provenance over an event's citations, in SQL."""

from sqlalchemy import text

# The status derived for the event aliased `e` (the function is migration 0016's).
DERIVED_VERIFICATION = (
    "(SELECT derived_verification(array_agg(es.stance), array_agg(es.source_id),"
    " array_agg(s.kind)) FROM event_sources es JOIN sources s ON s.id = es.source_id"
    " WHERE es.event_id = e.id)"
)
# Re-derive one event's status from its citations, unless an editor stated it.
DERIVE_ONE = text(
    "UPDATE events e SET verification = "  # noqa: S608  (a constant fragment, no input)
    + DERIVED_VERIFICATION
    + " WHERE e.id = :id AND NOT e.verification_explicit"
)
