"""Forward-only, versioned SQL migrations per schema, applied under an advisory lock."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

import asyncpg

from servicekit.db import advisory_lock_key

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(RuntimeError):
    """An applied migration was changed, or the files are not numbered 0001, 0002, ..."""


def load_migrations(component: str, package: str) -> list[Migration]:
    """The `NNNN_name.sql` files of a package, in order; gaps or duplicates are an error."""
    folder: Traversable = resources.files(package)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(component, int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"{package}: expected migration {expected:04d}, found {migration.version:04d}")
    return found


def _lock_key(schema: str) -> int:
    # A stable 63-bit key per schema, so two services never wait on each other's migrations.
    return advisory_lock_key(f"schuldenlab.migrate.{schema}")


async def migrate(conn: asyncpg.Connection, schema: str, migrations: list[Migration]) -> list[str]:
    """Apply what is missing, each migration in its own transaction; returns what was applied."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise MigrationError(f"invalid schema name {schema!r}")
    applied_now: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(schema))
    try:
        # Looked up first: CREATE SCHEMA IF NOT EXISTS asks for the right to create schemas even when the schema
        # exists, and a service's own role has its schema (made by `schuldenlab migrate`) but not that right.
        if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", schema):
            await conn.execute(f"CREATE SCHEMA {schema}")
        await conn.execute(
            f"""CREATE TABLE IF NOT EXISTS {schema}.schema_migrations (
                component text NOT NULL, version integer NOT NULL, name text NOT NULL,
                checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version))"""
        )
        rows = await conn.fetch(f"SELECT component, version, checksum FROM {schema}.schema_migrations")
        done = {(r["component"], r["version"]): r["checksum"] for r in rows}
        for migration in migrations:
            key = (migration.component, migration.version)
            if key in done:
                if done[key] != migration.checksum:
                    raise MigrationError(
                        f"{schema}: migration {migration.component} {migration.version:04d}_{migration.name} "
                        "was changed after it was applied; migrations are forward-only, add a new one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(f"SET LOCAL search_path TO {schema}")
                await conn.execute(migration.sql)
                await conn.execute(
                    f"INSERT INTO {schema}.schema_migrations (component, version, name, checksum)"
                    " VALUES ($1, $2, $3, $4)",
                    migration.component, migration.version, migration.name, migration.checksum,
                )
            label = f"{schema}: {migration.component} {migration.version:04d}_{migration.name}"
            log.info("applied migration %s", label)
            applied_now.append(label)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(schema))
    return applied_now


def runtime_migrations() -> list[Migration]:
    return load_migrations("servicekit", "servicekit.migrations")
