"""Partnering's unit of work on PostgreSQL."""

from __future__ import annotations

import asyncpg
from servicekit.uow import UnitOfWork

from partnering.adapters.repository import PostgresCatalogueReplica


class PostgresPartneringUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="partnering")
        self.catalogue = PostgresCatalogueReplica(conn)
