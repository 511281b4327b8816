"""Verification derived from citations, for events whose status was not set by hand.

The rule, in order (documented in the README):
1. nothing cited, or only plain reports          → unverified
2. a source denies or disputes it, and another
   reports, claims or confirms it                → disputed
3. it is only denied or disputed                 → refuted
4. a source confirms it                          → confirmed
5. a party claims it (nobody confirms or denies) → claimed
"""

from collections.abc import Iterable

from app.domain.vocab import Stance, Verification

AGAINST = {Stance.DENIES, Stance.DISPUTES}
FOR = {Stance.REPORTS, Stance.CLAIMS, Stance.CONFIRMS}


def derive_verification(stances: Iterable[str]) -> Verification:
    seen = {Stance(s) for s in stances}
    if seen & AGAINST:
        return Verification.DISPUTED if seen & FOR else Verification.REFUTED
    if Stance.CONFIRMS in seen:
        return Verification.CONFIRMED
    if Stance.CLAIMS in seen:
        return Verification.CLAIMED
    return Verification.UNVERIFIED
