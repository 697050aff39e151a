"""Partnering's unit of work on PostgreSQL."""

from __future__ import annotations

import asyncpg

from partnering.adapters.implementations import PostgresImplementationRepository
from partnering.adapters.labs import PostgresLabRepository
from partnering.adapters.repository import PostgresCatalogueReplica
from servicekit.uow import UnitOfWork


class PostgresPartneringUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="partnering")
        self.catalogue = PostgresCatalogueReplica(conn)
        self.labs = PostgresLabRepository(conn)
        self.implementations = PostgresImplementationRepository(conn)
