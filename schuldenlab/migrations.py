"""`schuldenlab migrate`: apply every service's migrations to its own schema."""

from __future__ import annotations

from schuldenlab.services import SERVICES, load_definition
from servicekit.service import apply_migrations


async def migrate_all(database_url: str, services: tuple[str, ...] = SERVICES) -> list[str]:
    applied: list[str] = []
    for name in services:
        applied += await apply_migrations(database_url, load_definition(name))
    return applied
