"""Which other events may report the same happening (app.store.queries.matches scores them)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import NotFound
from app.services import reads
from app.store import repository
from app.store.queries import matches as match_sql

BATCH_EVENTS = 100  # base events per statement: a dense dataset keeps each one short

_ONE = match_sql.candidates(match_sql.ONE_EVENT)
_BATCH = match_sql.candidates(match_sql.DATASET_BATCH)
_STATE = text(
    "SELECT deleted_at, CASE WHEN merged_into IS NOT NULL THEN event_survivor(id) END "
    "AS survivor FROM events WHERE id = :id"
)
# The next batch of base events of a dataset, in id order.
_BASE_IDS = text(
    "SELECT id FROM events WHERE dataset = :dataset AND deleted_at IS NULL AND id > :after "
    "ORDER BY id LIMIT :batch"
)
_HAS_DATASET = text("SELECT EXISTS (SELECT FROM events WHERE dataset = :dataset)")
REASONS = ("distance_m", "distance_limit_m", "inside_area", "time_gap_s", "time_overlap",
           "type", "same_place", "title_similarity")  # fmt: skip


@dataclass(frozen=True)
class MatchOptions:
    min_score: float = match_sql.DEFAULT_MIN_SCORE
    limit: int = 10  # candidates per event
    same_dataset: bool = False
    against: tuple[str, ...] = ()  # only candidates from these datasets (all when empty)

    def values(self) -> dict[str, Any]:
        return {"min_score": self.min_score, "per_event": self.limit,
                "same_dataset": self.same_dataset,
                "against": list(self.against) or None}  # fmt: skip


def candidate(row: Any) -> dict[str, Any]:
    """One candidate as the API and the CLI give it: who, how likely, and why."""
    return {
        "event_id": row.event_id,
        "candidate_id": row.candidate_id,
        "score": row.score,
        "dataset": row.dataset,
        "external_id": row.external_id,
        "title": row.title,
        "occurred_at": row.occurred_at.isoformat(),
        "reasons": {name: getattr(row, name) for name in REASONS},
    }


async def event_matches(engine: AsyncEngine, event_id: int, options: MatchOptions) -> list[Any]:
    """The ranked candidates of one live event; 404 for no such event (a merged one is
    redirected to its survivor)."""
    reads.live_event(event_id, await repository.fetch_one(engine, _STATE, {"id": event_id}))
    values = {"event_id": event_id, **options.values()}
    return list(await repository.fetch_rows(engine, _ONE, values))


async def dataset_matches(
    engine: AsyncEngine, dataset: str, options: MatchOptions
) -> AsyncIterator[list[Any]]:
    """Every live event of ``dataset`` with its candidates, a batch of events at a time."""
    if not await repository.fetch_scalar(engine, _HAS_DATASET, {"dataset": dataset}):
        raise NotFound(f"No events in dataset {dataset!r}.")
    return _batches(engine, dataset, options)


async def _batches(
    engine: AsyncEngine, dataset: str, options: MatchOptions
) -> AsyncIterator[list[Any]]:
    # The batch is its base ids, not its rows: an event without a candidate gives no row.
    after = 0
    while True:
        values = {"dataset": dataset, "after": after, "batch": BATCH_EVENTS}
        ids = [int(row.id) for row in await repository.fetch_rows(engine, _BASE_IDS, values)]
        if not ids:
            return
        rows = list(await repository.fetch_rows(engine, _BATCH, {"ids": ids,
                                                                 **options.values()}))  # fmt: skip
        if rows:
            yield rows
        after = ids[-1]
