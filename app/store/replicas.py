"""Read replicas: streaming standbys that serve reads while they keep up with the primary.

A watcher asks each standby every ``replica_check_s`` whether it is in recovery and still
streaming, how far it has replayed and how old its last replayed change is. A replica that is
down, lagging more than ``max_replica_lag_s``, cut off from its primary or not a standby at
all is skipped until a later check finds it well; a read it fails to serve is retried on the
primary (app.store.repository.FALLBACK). A read that carries a commit position (the
`Frontline-Consistency` token a write answered with) goes to a replica only once that replica
has replayed past it, else to the primary: an analyst never reads an event older than the one
they just wrote.
"""

import asyncio
import itertools
import logging
import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from app.store import repository
from app.store.engine import asyncpg_url, make_engine

log = logging.getLogger(__name__)

# On a standby: whether it still streams from a primary, how far it has replayed, and the age
# of the last transaction it replayed, which is lag only while it has received more than it
# has replayed (an idle primary sends nothing newer).
_STANDBY_STATE = text(
    """
    SELECT pg_is_in_recovery() AS standby,
           EXISTS (SELECT FROM pg_stat_wal_receiver) AS streaming,
           pg_last_wal_replay_lsn()::text AS replayed,
           CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                THEN 0
                ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END AS lag_s
    """
)
NOT_A_STANDBY = ("FRONTLINE_READ_DATABASE_URLS names %s, which is not a standby "
                 "(pg_is_in_recovery() is false): it gets no reads")  # fmt: skip
LSN_PATTERN = "^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$"
_LSN = re.compile(LSN_PATTERN)
# After a commit: a position at or past the commit's record, which a standby must replay.
COMMIT_POSITION = text("SELECT pg_current_wal_insert_lsn()::text")


def parse_lsn(value: str) -> int:
    """PostgreSQL's `X/Y` log position as one number; ValueError when it is not one."""
    if not _LSN.fullmatch(value):
        raise ValueError(value)
    high, _, low = value.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


def database_name(url: str | URL) -> str:
    """host:port/database, never the password: how logs and /ready name a database (several
    hosts, comma-separated, for a URL that lists them as `?host=a:5432&host=b:5432`)."""
    parsed = make_url(url)
    if parsed.host:
        return f"{parsed.host}:{parsed.port or 5432}/{parsed.database}"
    hosts = parsed.query.get("host", ())
    return f"{','.join([hosts] if isinstance(hosts, str) else hosts)}/{parsed.database}"


@dataclass
class Replica:
    name: str
    engine: AsyncEngine
    state: str = "unknown"  # healthy | lagging | disconnected | down | not-a-standby | unknown
    lag_s: float | None = None
    replayed: int = 0

    def report(self) -> dict[str, object]:
        return {
            "role": "replica",
            "name": self.name,
            "state": self.state,
            "lag_s": None if self.lag_s is None else round(self.lag_s, 3),
            "replayed": format_lsn(self.replayed) if self.replayed else None,
        }

    def set_state(self, state: str, why: str) -> None:
        if state != self.state:
            level = logging.INFO if state == "healthy" else logging.WARNING
            log.log(level, "read replica %s is %s (%s)", self.name, state, why)
        self.state = state


@dataclass
class _ToPrimary:
    """A replica engine's fallback: the primary, and the replica to mark down first."""

    primary: AsyncEngine
    replica: Replica

    def failed(self, error: BaseException) -> None:
        self.replica.set_state("down", f"a read failed: {error!r:.200}; reads go to the primary")
        self.replica.lag_s = None


class ReadRouting:
    """Where each read goes: a healthy replica that has replayed far enough, else the primary."""

    def __init__(self, primary: AsyncEngine, settings: Settings) -> None:
        self.primary, self.max_lag_s = primary, settings.max_replica_lag_s
        self.replicas: list[Replica] = []
        for given in settings.read_database_urls:
            url = asyncpg_url(given)
            replica = Replica(database_name(url), primary)  # its own engine just below
            fallback = _ToPrimary(primary, replica)
            engine = make_engine(url, settings)
            replica.engine = engine.execution_options(**{repository.FALLBACK: fallback})
            self.replicas.append(replica)
        self._turns = itertools.count()

    def report(self) -> list[dict[str, object]]:
        """Each database's role, name and state, the primary first (/ready)."""
        primary: dict[str, object] = {
            "role": "primary",
            "name": database_name(self.primary.url),
            "state": "healthy",
        }
        return [primary, *(r.report() for r in self.replicas)]

    def engine_for(self, position: int | None) -> AsyncEngine:
        """A replica in turn among the healthy ones that have replayed ``position``."""
        ready = [r for r in self.replicas if r.state == "healthy"
                 and (position is None or r.replayed >= position)]  # fmt: skip
        if not ready:
            return self.primary
        return ready[next(self._turns) % len(ready)].engine

    async def check(self, replica: Replica) -> None:
        try:
            async with replica.engine.connect() as conn:
                row = (await conn.execute(_STANDBY_STATE)).one()
        except Exception as error:  # any failure: skipped until it answers again
            replica.lag_s = None
            replica.set_state("down", f"{error!r:.200}; reads go elsewhere")
            return
        if not row.standby:
            replica.lag_s = None
            if replica.state != "not-a-standby":
                log.error(NOT_A_STANDBY, replica.name)
            replica.state = "not-a-standby"
            return
        replica.replayed = parse_lsn(row.replayed) if row.replayed else 0
        replica.lag_s = float(row.lag_s or 0)
        if not row.streaming:
            replica.set_state("disconnected", "it streams from no primary, so it may be stale")
        elif replica.lag_s > self.max_lag_s:
            replica.set_state("lagging", f"{replica.lag_s:.1f} s behind")
        else:
            replica.set_state("healthy", f"{replica.lag_s:.1f} s behind")

    async def check_all(self) -> None:
        await asyncio.gather(*(self.check(r) for r in self.replicas))

    async def watch(self, every_s: float) -> None:
        while True:
            try:
                await self.check_all()
            except Exception:  # a bug here must not stop the checks for good
                log.exception("checking the read replicas failed")
            await asyncio.sleep(every_s)

    async def dispose(self) -> None:
        await asyncio.gather(*(r.engine.dispose() for r in self.replicas))
