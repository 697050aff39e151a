"""Retention: a background job of every service that deletes, in bounded batches, rows kept longer than their setting.

What goes: published outbox rows and inbox rows (the runtime's own tables, below), and what a service adds
through its definition (notifications: finished deliveries with their attempts, received events no delivery
needs). What never goes: an unpublished outbox row, whatever its age (it has not been sent yet); a feed
position (it keeps a replica from being set back by an old record, however late that comes); and what a
service's own rule keeps (a pending delivery).

Each batch is one short transaction deleting at most `BATCH` rows that an index finds oldest first, so no
statement holds locks or a snapshot for long, and a backlog of months is worked off a batch at a time with a
pause between batches for the service's own work. A pass runs every `SCHULDENLAB_RETENTION_INTERVAL` seconds;
one replica per schema at a time does it (a session advisory lock held for the pass), the others skip theirs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from prometheus_client import Counter

from servicekit import periodic
from servicekit.config import Settings, decimal_number, whole_number
from servicekit.db import advisory_lock_key
from servicekit.metrics import REGISTRY

log = logging.getLogger(__name__)

BATCH = 1000  # rows one statement deletes at most
BATCH_PAUSE = 0.05  # seconds between two batches, so a large backlog leaves room for the service's own work
DEFAULT_INTERVAL = 300.0
MAX_INTERVAL = 86400.0
MAX_DAYS = 36500
INTERVAL_VARIABLE = "SCHULDENLAB_RETENTION_INTERVAL"

DELETED = Counter("schuldenlab_retention_deleted", "Rows deleted by retention", ["service", "table"],
                  registry=REGISTRY)

# (connection, days, limit) -> rows deleted per table; deletes at most `limit` rows of the purge's table that
# are older than `days` days, and whatever goes with them (counted under their own tables).
DeleteBatch = Callable[[asyncpg.Connection, int, int], Awaitable[Mapping[str, int]]]


@dataclass(frozen=True)
class Purge:
    """Rows of one kind let go of once older than `SCHULDENLAB_RETENTION_<NAME>_DAYS` days."""

    name: str  # names the setting: SCHULDENLAB_RETENTION_<NAME>_DAYS
    table: str  # the table whose rows a batch limits: a batch that deletes fewer than the limit ends the purge
    default_days: int
    delete_batch: DeleteBatch

    @property
    def variable(self) -> str:
        return f"SCHULDENLAB_RETENTION_{self.name.upper()}_DAYS"


@dataclass(frozen=True)
class Rule:
    purge: Purge
    days: int


@dataclass(frozen=True)
class RetentionPlan:
    rules: tuple[Rule, ...]
    interval: float


def _given(settings: Settings, service: str, variable: str) -> tuple[str, str] | None:
    """The service's own SCHULDENLAB_<SERVICE>_... if set, else the general variable, as (name, value)."""
    own = variable.replace("SCHULDENLAB_", f"SCHULDENLAB_{service.upper()}_", 1)
    for name in (own, variable):
        raw = (settings.setting(name) or "").strip()
        if raw:
            return name, raw
    return None


def _days(settings: Settings, service: str, purge: Purge) -> int:
    given = _given(settings, service, purge.variable)
    if given is None:
        return purge.default_days
    name, raw = given
    return whole_number(name, raw, purge.default_days, least=1, most=MAX_DAYS, unit="days")


def _interval(settings: Settings, service: str) -> float:
    given = _given(settings, service, INTERVAL_VARIABLE)
    if given is None:
        return DEFAULT_INTERVAL
    name, raw = given
    return decimal_number(name, raw, DEFAULT_INTERVAL, above=0, most=MAX_INTERVAL, unit="seconds")


def plan(settings: Settings, service: str, purges: Sequence[Purge] = ()) -> RetentionPlan:
    """The runtime's purges and the service's, each with its days, and the interval; a bad value is a ConfigError
    naming its variable, so the service stops at its start rather than at its first pass."""
    rules = tuple(Rule(p, _days(settings, service, p)) for p in (*RUNTIME_PURGES, *purges))
    return RetentionPlan(rules, _interval(settings, service))


def deleted_rows(status: str) -> int:
    """The row count of a DELETE's command tag (`DELETE 42`)."""
    return int(status.rsplit(" ", 1)[-1])


async def _published_outbox(conn: asyncpg.Connection, days: int, limit: int) -> Mapping[str, int]:
    # By when a row was written (migration 0008: nothing marks when it went out). A row still owed to Kafka
    # (in outbox_pending) stays, however old: the relay still owes it.
    status = await conn.execute(
        """DELETE FROM outbox WHERE seq IN (
               SELECT o.seq FROM outbox AS o
               WHERE o.created_at < clock_timestamp() - make_interval(days => $1)
                 AND NOT EXISTS (SELECT 1 FROM outbox_pending AS p WHERE p.seq = o.seq)
               ORDER BY o.created_at LIMIT $2)""", days, limit)
    return {"outbox": deleted_rows(status)}


async def _inbox(conn: asyncpg.Connection, days: int, limit: int) -> Mapping[str, int]:
    # Once an event's row is gone, the event arriving again would be applied again: see the README on why the
    # inbox must outlive the topics' retention.ms. Feed positions are another table and never deleted.
    status = await conn.execute(
        """DELETE FROM inbox WHERE event_id IN (
               SELECT event_id FROM inbox WHERE processed_at < clock_timestamp() - make_interval(days => $1)
               ORDER BY processed_at LIMIT $2)""", days, limit)
    return {"inbox": deleted_rows(status)}


RUNTIME_PURGES = (
    Purge("outbox", "outbox", 7, _published_outbox),
    Purge("inbox", "inbox", 30, _inbox),
)


class RetentionJob:
    """Runs a plan's purges every interval, one replica per schema at a time."""

    def __init__(self, pool: asyncpg.Pool, schema: str, plan: RetentionPlan, *, batch: int = BATCH,
                 pause: float = BATCH_PAUSE) -> None:
        self._pool = pool
        self._schema = schema
        self._plan = plan
        self._batch = batch
        self._pause = pause
        self._lock_key = advisory_lock_key(f"retention.{schema}")

    async def purge_once(self) -> dict[str, int] | None:
        """One pass of every rule; the rows deleted per table, or None when another replica is doing its pass."""
        async with self._pool.acquire() as conn:
            # A session lock, held over the pass's many short transactions.
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._lock_key):
                return None
            deleted: dict[str, int] = {}
            for rule in self._plan.rules:
                await self._purge(conn, rule, deleted)
            # Not in a `finally`: a pass cut short (a stop, a failed statement) asks the server nothing more. The
            # pool's reset of the connection on its release (pg_advisory_unlock_all) frees the lock then, or the
            # end of the session does.
            await conn.execute("SELECT pg_advisory_unlock($1)", self._lock_key)
            return deleted

    async def _purge(self, conn: asyncpg.Connection, rule: Rule, deleted: dict[str, int]) -> None:
        while True:
            async with conn.transaction():
                counts = await rule.purge.delete_batch(conn, rule.days, self._batch)
            for table, count in counts.items():
                if count:
                    DELETED.labels(self._schema, table).inc(count)
                    deleted[table] = deleted.get(table, 0) + count
            if counts.get(rule.purge.table, 0) < self._batch:
                return  # the last of what is due; anything left over became due during the pass
            await asyncio.sleep(self._pause)

    async def run(self) -> None:
        """A pass at start, then one every interval; a failed pass is logged and the next one tries again."""
        await periodic.every(self._plan.interval, self._pass, name=f"retention {self._schema}")

    async def _pass(self) -> None:
        deleted = await self.purge_once()
        if deleted:
            log.info("retention %s: deleted %s", self._schema,
                     ", ".join(f"{n} {table}" for table, n in deleted.items()))
