"""The catalogue's unit of work on PostgreSQL: the shared one plus the catalogue's repositories."""

from __future__ import annotations

import asyncpg
from servicekit.uow import UnitOfWork

from catalogue.adapters.repository import PostgresProjectRepository


class PostgresCatalogueUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="catalogue")
        self.projects = PostgresProjectRepository(conn)
