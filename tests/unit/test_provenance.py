"""The verification rule, case by case, including the founding reports' contested episode."""

import pytest

from app.domain.provenance import Cited, derive_verification

MOD = ("ru-mod", "military")
GOVERNOR = ("belgorod-governor", "government")
BLOGGERS = ("ru-milbloggers", "social")
ISW = ("isw", "research")
AP = ("ap", "media")
GEOLOCATED = ("geoconfirmed", "osint")


def cite(stance: str, who: tuple[str, str]) -> Cited:
    return Cited(stance, *who)


@pytest.mark.parametrize(
    ("citations", "expected"),
    [
        ([], "unverified"),
        ([cite("reports", AP)], "unverified"),
        ([cite("reports", AP), cite("reports", AP)], "unverified"),  # one outlet is one voice
        ([cite("claims", MOD)], "claimed"),  # the Russian MoD: attempts to enter Demidovka failed
        ([cite("claims", MOD), cite("claims", MOD)], "claimed"),  # a repeated claim
        ([cite("claims", MOD), cite("claims", GOVERNOR)], "claimed"),  # two parties, no observer
        ([cite("claims", MOD), cite("reports", BLOGGERS)], "claimed"),
        ([cite("claims", MOD), cite("reports", GEOLOCATED)], "corroborated"),  # geolocated
        ([cite("reports", AP), cite("reports", ISW)], "corroborated"),  # two observers
        ([cite("reports", BLOGGERS), cite("reports", GEOLOCATED)], "corroborated"),
        (
            [cite("claims", MOD), cite("confirms", ISW)],
            "confirmed",
        ),  # Sudzha: claimed, then confirmed
        ([cite("confirms", ISW)], "confirmed"),
        (
            [cite("reports", BLOGGERS), cite("denies", MOD)],
            "disputed",
        ),  # fighting inside; MoD denies
        ([cite("claims", MOD), cite("denies", GOVERNOR)], "disputed"),  # Kursk "fully retaken"
        ([cite("reports", AP), cite("reports", ISW), cite("denies", MOD)], "disputed"),
        ([cite("confirms", ISW), cite("disputes", AP)], "disputed"),
        ([cite("denies", MOD)], "refuted"),
        ([cite("denies", MOD), cite("disputes", AP)], "refuted"),
    ],
)
def test_rule(citations: list[Cited], expected: str) -> None:
    assert derive_verification(citations) == expected
