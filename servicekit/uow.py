"""The unit of work: one database transaction in which a service changes state and writes its events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import asyncpg
from pydantic import BaseModel

from schuldenlab_contracts.cloudevents import CloudEvent, new_event, tombstone
from schuldenlab_contracts.registry import EventSpec
from servicekit import db, idempotency, outbox


class UnitOfWork:
    """Base of every service's unit of work; subclasses add their repositories in `__init__`."""

    def __init__(self, conn: asyncpg.Connection, schema: str) -> None:
        self.conn = conn
        self.schema = schema

    async def publish(self, payload: BaseModel) -> CloudEvent:
        """Record an event in the outbox, in this transaction: it is published if and only if we commit."""
        event = new_event(payload)
        await outbox.append(self.conn, event, schema=self.schema)
        return event

    async def publish_tombstone(self, spec: EventSpec, subject: str) -> CloudEvent:
        event = tombstone(spec, subject)
        await outbox.append(self.conn, event, schema=self.schema)
        return event


U = TypeVar("U", bound=UnitOfWork)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, factory: Callable[[asyncpg.Connection], U], *,
                      single_statement: bool = False) -> AsyncIterator[U]:
    """Commit when the block ends normally, roll back when it raises.

    Within the database limits (servicekit.db.transaction): a database that is down or too slow ends
    the block with DatabaseUnavailable in seconds, which the API answers with 503.
    """
    async with db.transaction(pool, single_statement=single_statement) as conn:
        yield factory(conn)
        if not single_statement:  # a read of one statement takes no effect to mark
            await idempotency.mark_taken_effect(conn)
