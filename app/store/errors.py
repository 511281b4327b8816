"""Which driver failures mean 'the database is unavailable, try again' rather than a bug."""

import asyncpg
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

# Raw asyncpg errors reach the handlers too: SQLAlchemy does not wrap the ones a
# server-side cursor raises while fetching (an export's first batch).
UNREACHABLE = (OperationalError, InterfaceError, ConnectionError, OSError,
               asyncpg.ConnectionDoesNotExistError)  # fmt: skip


def is_database_unavailable(exc: BaseException) -> bool:
    """True for failures that mean 'try again later' rather than a bug."""
    if isinstance(exc, UNREACHABLE):
        return True
    # 57014 statement timeout, 57P01..57P03 shutdown, 53300 too many connections, 08* link.
    state = sqlstate(exc)
    return state is not None and (
        state in {"57014", "57P01", "57P02", "57P03", "53300"} or state.startswith("08")
    )


def replica_cannot_serve(exc: BaseException) -> bool:
    """True when a read replica failed a read the primary may serve: it is unreachable, or
    it cancelled a query that conflicted with the changes it replays (40001). Not a statement
    timeout: the primary would take as long."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    state = sqlstate(exc)
    return state == "40001" or (state != "57014" and is_database_unavailable(exc))


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raw (asyncpg) or wrapped (SQLAlchemy's DBAPIError)."""
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None)):
        if state := getattr(candidate, "sqlstate", None):
            return str(state)
    return None
