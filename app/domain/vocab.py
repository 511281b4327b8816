"""Controlled vocabularies shared by the schema, the validators and the docs."""

from enum import StrEnum
from typing import Literal

# The one coordinate reference system served and read: WGS84 longitude, latitude.
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
Crs84 = Literal["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]  # CRS84, as a parameter's type


class PlaceKind(StrEnum):
    COUNTRY = "country"
    REGION = "region"
    DISTRICT = "district"
    SETTLEMENT = "settlement"
    SITE = "site"


class EventType(StrEnum):
    BATTLE = "battle"
    GROUND_OPERATION = "ground_operation"
    INCURSION = "incursion"
    SHELLING = "shelling"
    AIRSTRIKE = "airstrike"
    MISSILE_STRIKE = "missile_strike"
    DRONE_STRIKE = "drone_strike"
    EXPLOSION = "explosion"
    TERRITORIAL_CHANGE = "territorial_change"
    STATEMENT = "statement"
    AIR_RAID_ALERT = "air_raid_alert"
    VIOLENCE_AGAINST_CIVILIANS = "violence_against_civilians"
    PROTEST = "protest"
    OTHER = "other"


class TimePrecision(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


class LocationPrecision(StrEnum):
    EXACT = "exact"
    NEAR = "near"
    SETTLEMENT = "settlement"
    DISTRICT = "district"
    REGION = "region"
    COUNTRY = "country"


class Verification(StrEnum):
    UNVERIFIED = "unverified"
    CLAIMED = "claimed"
    DISPUTED = "disputed"
    CORROBORATED = "corroborated"
    CONFIRMED = "confirmed"
    REFUTED = "refuted"


class SourceKind(StrEnum):
    GOVERNMENT = "government"
    MILITARY = "military"
    MEDIA = "media"
    OSINT = "osint"
    RESEARCH = "research"
    SOCIAL = "social"


class Stance(StrEnum):
    REPORTS = "reports"
    CLAIMS = "claims"
    CONFIRMS = "confirms"
    DENIES = "denies"
    DISPUTES = "disputes"


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RESTORE = "restore"
    MERGE = "merge"
    UNMERGE = "unmerge"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


def values(enum: type[StrEnum]) -> list[str]:
    """The allowed string values of a vocabulary, in declaration order."""
    return [member.value for member in enum]
