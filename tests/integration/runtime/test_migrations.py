"""Migrations on a real PostgreSQL: applied once, under a lock, forward-only."""

from __future__ import annotations

import asyncio
import dataclasses

import asyncpg
import pytest

from schuldenlab.services import SERVICES, load_definition
from servicekit.migrate import MigrationError, load_migrations, migrate, runtime_migrations
from servicekit.service import apply_migrations

pytestmark = pytest.mark.integration


async def test_migrating_twice_applies_nothing_the_second_time(fresh_database):
    first = await apply_migrations(fresh_database, load_definition("catalogue"))
    again = await apply_migrations(fresh_database, load_definition("catalogue"))
    assert first and again == []


async def test_concurrent_migrations_of_all_services_apply_each_migration_once(fresh_database):
    results = await asyncio.gather(*(apply_migrations(fresh_database, load_definition(s))
                                     for s in SERVICES for _ in range(2)))
    applied = [line for result in results for line in result]
    assert len(applied) == len(set(applied))
    conn = await asyncpg.connect(fresh_database)
    try:
        for service in SERVICES:
            count = await conn.fetchval(f"SELECT count(*) FROM {service}.schema_migrations")
            expected = len(runtime_migrations()) + len(load_migrations(service, f"{service}.migrations"))
            assert count == expected
    finally:
        await conn.close()


async def test_a_migration_changed_after_it_was_applied_is_refused(fresh_database):
    migrations = runtime_migrations()
    conn = await asyncpg.connect(fresh_database)
    try:
        await migrate(conn, "altered", migrations)
        edited = [dataclasses.replace(migrations[0], sql=migrations[0].sql + "\n-- edited")]
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(conn, "altered", edited)
    finally:
        await conn.close()
