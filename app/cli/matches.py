"""`frontline matches`: candidate pairs to review as CSV, and the reviewed file merged back.

    frontline matches --dataset acled --against ucdp > review.csv
    (a person writes accept or reject in each row's `decision` column)
    frontline matches --apply review.csv

Applying merges every accepted pair (the candidate into the event of its row) in one
transaction: a pair that cannot be merged stops the run, names its line, and nothing is merged.
"""

import argparse
import asyncio
import csv
import getpass
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.ext.asyncio import AsyncEngine

from app.domain.errors import FrontlineError
from app.domain.vocab import Scope
from app.services import matching, merges
from app.services.keys import Principal
from app.services.matching import REASONS, MatchOptions
from app.settings import get_settings
from app.store.engine import make_engine, resolve_database_url
from app.store.queries.matches import DEFAULT_MIN_SCORE

COLUMNS = ("decision", "event_id", "candidate_id", "score", "candidate_dataset",
           "candidate_external_id", "candidate_title", "candidate_occurred_at",
           *REASONS)  # fmt: skip
DECISIONS = ("accept", "reject", "")


class ReviewError(Exception):
    """A review file that cannot be applied; the message names the line."""


@dataclass(frozen=True)
class Applied:
    merged: int
    rejected: int
    undecided: int
    citations_copied: int
    citations_shared: int


def add_parser(sub: Any) -> None:
    cmd = sub.add_parser(
        "matches", help="list candidate duplicates to review (CSV), or merge the accepted ones"
    )
    what = cmd.add_mutually_exclusive_group(required=True)
    what.add_argument("--dataset", help="list candidates for every live event of this dataset")
    what.add_argument("--apply", type=Path, metavar="REVIEW_CSV",
                      help="merge the rows whose decision is accept (all or nothing)")  # fmt: skip
    cmd.add_argument("--against", action="append", default=[],
                     help="only candidates from this dataset (repeat for several)")  # fmt: skip
    cmd.add_argument("--min-score", type=_score, default=DEFAULT_MIN_SCORE,
                     help=f"the lowest score listed ({DEFAULT_MIN_SCORE})")  # fmt: skip
    cmd.add_argument("--per-event", type=int, default=3, choices=range(1, 21), metavar="1-20",
                     help="candidates per event (default 3)")  # fmt: skip
    cmd.add_argument("--same-dataset", action="store_true",
                     help="also candidates from the event's own dataset")  # fmt: skip
    cmd.set_defaults(func=cmd_matches)


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a score between 0 and 1, got {text!r}")
    return value


def cmd_matches(args: argparse.Namespace) -> None:
    url = resolve_database_url(get_settings())
    if args.apply is not None:
        try:
            done = asyncio.run(_apply(url, args.apply))
        except ReviewError as exc:
            sys.exit(f"frontline matches --apply: {exc} Nothing was merged.")
        print(f"merged {done.merged} pairs ({done.citations_copied} citations copied, "
              f"{done.citations_shared} already cited); {done.rejected} rejected, "
              f"{done.undecided} undecided")  # fmt: skip
        return
    options = MatchOptions(args.min_score, args.per_event, args.same_dataset,
                           tuple(args.against))  # fmt: skip
    try:
        pairs = asyncio.run(_list(url, args.dataset, options, sys.stdout))
    except FrontlineError as exc:
        sys.exit(f"frontline matches: {exc.detail}")
    print(f"{pairs} candidate pairs", file=sys.stderr)


async def _list(url: str, dataset: str, options: MatchOptions, out: TextIO) -> int:
    engine = make_engine(url, get_settings())
    try:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        pairs = 0
        async for batch in await matching.dataset_matches(engine, dataset, options):
            for row in batch:
                found = matching.candidate(row)
                writer.writerow(["", found["event_id"], found["candidate_id"], found["score"],
                                 found["dataset"], found["external_id"], found["title"],
                                 found["occurred_at"],
                                 *(found["reasons"][name] for name in REASONS)])  # fmt: skip
                pairs += 1
        return pairs
    finally:
        await engine.dispose()


def _decided(path: Path) -> Iterator[tuple[int, str, int, int]]:
    """(line, decision, event_id, candidate_id) of every row, checked."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ReviewError(f"Cannot read {path}: {exc.strerror}.") from None
    with handle:
        rows = csv.DictReader(handle)
        missing = {"decision", "event_id", "candidate_id"} - set(rows.fieldnames or ())
        if missing:
            raise ReviewError(f"{path} has no column {', '.join(sorted(missing))}.")
        for row in rows:
            line = rows.line_num
            decision = (row["decision"] or "").strip().lower()
            if decision not in DECISIONS:
                raise ReviewError(f"Line {line}: decision {row['decision']!r} is not accept, "
                                  "reject or empty.")  # fmt: skip
            try:
                yield line, decision, int(row["event_id"]), int(row["candidate_id"])
            except (TypeError, ValueError):
                raise ReviewError(f"Line {line}: event_id and candidate_id must be ids.") from None


async def _apply(url: str, path: Path) -> Applied:
    rows = list(_decided(path))
    engine = make_engine(url, get_settings())
    try:
        return await _merge_accepted(engine, rows)
    finally:
        await engine.dispose()


async def _merge_accepted(engine: AsyncEngine, rows: list[tuple[int, str, int, int]]) -> Applied:
    who = Principal(f"cli:{getpass.getuser()}", frozenset({Scope.WRITE}))
    counts = {"accept": 0, "reject": 0, "": 0}
    copied = shared = 0
    async with engine.begin() as conn:
        for line, decision, event_id, candidate_id in rows:
            counts[decision] += 1
            if decision != "accept":
                continue
            try:
                done = await merges.merge(conn, event_id, candidate_id, (None, None), who)
            except FrontlineError as exc:  # leaving the block rolls every merge back
                raise ReviewError(f"Line {line}: {exc.detail}") from None
            copied += done.citations_copied
            shared += done.citations_shared
    return Applied(counts["accept"], counts["reject"], counts[""], copied, shared)
