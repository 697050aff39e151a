"""The asyncpg pool of one service, confined to that service's own schema."""

from __future__ import annotations

import hashlib
import json

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python values, and go in from Python values, everywhere alike.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections see only `schema` (and pg_catalog) on their search path."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        server_settings={"search_path": schema, "application_name": f"schuldenlab-{schema}"},
    )


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    """One connection with the same settings as the pool's, e.g. for LISTEN or migrations."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    await _init_connection(conn)
    return conn


def advisory_lock_key(name: str) -> int:
    """A stable, positive 63-bit key for pg_advisory_*lock, so names, not magic numbers, identify locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") >> 1
