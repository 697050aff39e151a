"""`schuldenlab migrate`: each service's role and schema, then its migrations, applied as that role."""

from __future__ import annotations

from collections.abc import Sequence

from schuldenlab.roles import provision_roles, service_logins
from schuldenlab.services import SERVICES, load_definition
from servicekit.config import Settings
from servicekit.db import check_database
from servicekit.service import apply_migrations


async def migrate_all(database_url: str, services: tuple[str, ...] = SERVICES) -> list[str]:
    applied: list[str] = []
    for name in services:
        applied += await apply_migrations(database_url, load_definition(name))
    return applied


async def migrate_services(settings: Settings, admin_url: str | None, services: Sequence[str] = SERVICES, *,
                           generate_roles: bool) -> list[str]:
    """Create or update each service's own role (where it has one: its SCHULDENLAB_<SERVICE>_DATABASE_URL, or with
    `generate_roles` one made for it) with `admin_url`, then migrate each service as its role; a service without
    a role of its own is migrated with `admin_url`. Returns what was applied."""
    logins = service_logins(settings, admin_url, services, generate=generate_roles) if admin_url else {}
    if admin_url and logins:
        await provision_roles(admin_url, logins)
    applied: list[str] = []
    for name in services:
        url = logins.get(name) or settings.for_service(name).database_url or admin_url
        own = Settings.from_env({**settings.extra, f"SCHULDENLAB_{name.upper()}_DATABASE_URL": url}, service=name)
        await check_database(own)  # a role that cannot log in is one line naming its variable
        applied += await apply_migrations(url, load_definition(name))
    return applied
