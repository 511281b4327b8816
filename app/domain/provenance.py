"""Verification derived from citations, for events whose status was not set by hand.

The rule, in order (documented in the README):
1. nothing cited, or only plain reports          → unverified
2. a source denies or disputes it, and another
   reports, claims or confirms it                → disputed
3. it is only denied or disputed                 → refuted
4. a source confirms it                          → confirmed
5. two or more independent source organisations
   report, claim or confirm it, and at least one
   of them is an observer (OSINT, research, media) → corroborated
6. a party claims it (nobody confirms or denies) → claimed

Independence is per organisation (a source): two citations of one outlet are one voice, and
two parties' claims (a ministry and a military command) corroborate nothing without an
observer. Migration 0016 defines the same rule in SQL; a test checks they agree.
"""

from collections.abc import Iterable
from typing import NamedTuple

from app.domain.vocab import SourceKind, Stance, Verification

AGAINST = {Stance.DENIES, Stance.DISPUTES}
FOR = {Stance.REPORTS, Stance.CLAIMS, Stance.CONFIRMS}
# Sources that observe rather than take part: geolocated OSINT, research groups, the press.
OBSERVERS = {SourceKind.OSINT, SourceKind.RESEARCH, SourceKind.MEDIA}


class Cited(NamedTuple):
    """What the rule reads of a citation: its stance, and who said it."""

    stance: str
    source: object  # the source organisation (slug or id): one voice however often cited
    kind: str


def derive_verification(citations: Iterable[Cited]) -> Verification:
    cited = list(citations)
    seen = {Stance(c.stance) for c in cited}
    if seen & AGAINST:
        return Verification.DISPUTED if seen & FOR else Verification.REFUTED
    if Stance.CONFIRMS in seen:
        return Verification.CONFIRMED
    supporting = [c for c in cited if c.stance in FOR]
    if len({c.source for c in supporting}) >= 2 and any(c.kind in OBSERVERS for c in supporting):
        return Verification.CORROBORATED
    if Stance.CLAIMS in seen:
        return Verification.CLAIMED
    return Verification.UNVERIFIED
