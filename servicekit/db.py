"""The asyncpg pool of one service, confined to that service's own schema."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import ssl

import asyncpg

from servicekit.config import ConfigError, Settings
from servicekit.loglines import one_line


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


# scheme://user:password@host...: the password runs to the last "@" (an unencoded "@" in it is common),
# so in doubt more is masked, never less. The scheme is optional: a URL missing it must not leak either.
_USERINFO = re.compile(
    r"^(?P<head>(?:[A-Za-z][A-Za-z0-9+.-]*://|(?!.*://))[^:@/?#\s]*:)(?P<password>.*)@(?P<tail>[^@]*)$")
_PASSWORD_PARAMETER = re.compile(r"(?i)(\bpassword=)([^&#\s]*)")


def url_password(url: str) -> str | None:
    """The password written in a database URL (its user part or a `password=` parameter), if any."""
    match = _USERINFO.match(url)
    if match and match["password"]:
        return match["password"]
    parameter = _PASSWORD_PARAMETER.search(url)
    return parameter[2] if parameter and parameter[2] else None


def masked_url(url: str) -> str:
    """`url` with its password shown as `***`, for every line that names a database URL."""
    match = _USERINFO.match(url)
    if match and match["password"]:
        url = f"{match['head']}***@{match['tail']}"
    return _PASSWORD_PARAMETER.sub(r"\1***", url)


async def check_database(settings: Settings, *, timeout: float = 10.0) -> None:
    """Log in once and ask `SELECT 1`, so a wrong database URL is one line naming its variable, not a traceback.

    The line names the variable the operator set (the service's own SCHULDENLAB_<SERVICE>_DATABASE_URL
    or the general one) and shows the URL with its password masked.
    """
    url = settings.require_database_url()
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    except Exception as exc:
        reason = _why_not(exc, timeout)
        password = url_password(url)
        if password:  # no driver message is known to quote it; this keeps it so
            reason = reason.replace(password, "***")
        raise ConfigError(f"{settings.variable('DATABASE_URL')}={masked_url(url)}: {one_line(reason)}") from exc


def _why_not(exc: Exception, timeout: float) -> str:
    if isinstance(exc, asyncpg.InvalidPasswordError):
        return f"the server refused the login ({exc})"
    if isinstance(exc, asyncpg.InvalidAuthorizationSpecificationError):
        return f"the server refused the login ({exc})"
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return f"{exc}; create it, or name an existing database"
    if isinstance(exc, asyncpg.PostgresError):
        return f"the server refused the connection ({exc})"
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:.0f} s"
    if isinstance(exc, socket.gaierror):
        return f"the host is not known ({exc.strerror})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS with the server failed ({exc})"
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "no PostgreSQL server answers there"
    if isinstance(exc, (ValueError, OverflowError)):  # asyncpg's ClientConfigurationError is a ValueError
        return f"not a PostgreSQL URL (postgresql://USER:PASSWORD@HOST:PORT/DATABASE): {exc}"
    return f"cannot connect ({type(exc).__name__}: {exc})"
