"""The verification rule, case by case, including the founding reports' contested episode."""

import pytest

from app.domain.provenance import derive_verification


@pytest.mark.parametrize(
    ("stances", "expected"),
    [
        ([], "unverified"),
        (["reports"], "unverified"),
        (["reports", "reports"], "unverified"),
        (["claims"], "claimed"),  # the Russian MoD: attempts to enter Demidovka failed
        (["claims", "reports"], "claimed"),
        (["claims", "confirms"], "confirmed"),  # Sudzha: claimed, then confirmed by ISW
        (["confirms"], "confirmed"),
        (["reports", "denies"], "disputed"),  # bloggers: fighting inside; MoD denies
        (["claims", "denies"], "disputed"),  # Kursk Oblast "fully retaken"
        (["confirms", "disputes"], "disputed"),
        (["denies"], "refuted"),
        (["denies", "disputes"], "refuted"),
    ],
)
def test_rule(stances: list[str], expected: str) -> None:
    assert derive_verification(stances) == expected
