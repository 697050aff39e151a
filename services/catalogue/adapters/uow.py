"""The catalogue's unit of work on PostgreSQL: the shared one plus the catalogue's repositories."""

from __future__ import annotations

import asyncpg

from catalogue.adapters.catalogue import PostgresCatalogueRepository
from catalogue.adapters.repository import PostgresLabRepository, PostgresProjectRepository
from servicekit.uow import UnitOfWork


class PostgresCatalogueUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="catalogue")
        self.projects = PostgresProjectRepository(conn)
        self.labs = PostgresLabRepository(conn)
        self.catalogue = PostgresCatalogueRepository(conn)
