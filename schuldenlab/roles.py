"""A database role per service: created or updated with an administrative URL, owning its own schema and no more.

`schuldenlab migrate` does it for each service whose `SCHULDENLAB_<SERVICE>_DATABASE_URL` is set (that URL's
user and password are the role's), `schuldenlab up` for every service (a service without its own URL gets the
role `schuldenlab_<service>`, its password generated into the state directory). Each role:
- logs in, and is no superuser, creates no role, no database, no replication and bypasses no row security;
- owns its service's schema and everything in it (taken over from whoever created it before roles existed);
- may connect to the database, and nothing else: the rights PostgreSQL gives every role by default (PUBLIC's
  CONNECT and TEMPORARY on the database, USAGE on the `public` schema) are revoked.
So a service cannot read another's tables (notifications' webhook secrets above all), and none can do what
only a superuser may (read files or run programs on the server).

The password reaches the server only as a SCRAM verifier computed here: the server never sees it in the clear,
so no statement log can show it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

from schuldenlab.services import SERVICES, load_definition
from servicekit.config import ConfigError, Settings
from servicekit.db import masked_url

ROLE_PREFIX = "schuldenlab_"
PASSWORDS_FILE = "database-roles.json"  # in the state directory, 0600: the generated passwords of `up`'s roles
_SCRAM_ITERATIONS = 4096  # PostgreSQL's default (scram_iterations)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = _SCRAM_ITERATIONS) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677), so the password itself is never sent."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    stored_key = hashlib.sha256(hmac.digest(salted, b"Client Key", "sha256")).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")
    b64 = base64.b64encode
    return (f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:"
            f"{b64(server_key).decode()}")


def with_login(url: str, user: str, password: str) -> str:
    """`url` (the administrative one) logging in as `user` with `password` instead: same server, same database."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"))


def login_of(url: str) -> tuple[str, str | None]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password) if parts.password is not None else None


def own_url_variable(service: str) -> str:
    return f"SCHULDENLAB_{service.upper()}_DATABASE_URL"


def generated_passwords(settings: Settings) -> dict[str, str]:
    """The passwords `up` made for the roles of services without a URL of their own (created 0600 on first use)."""
    path = settings.home / PASSWORDS_FILE
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        stored = {}
    missing = [name for name in SERVICES if name not in stored]
    if missing:
        stored |= {name: secrets.token_urlsafe(32) for name in missing}
        _write_private(path, json.dumps(stored))
    return stored


def _write_private(path: Path, text: str) -> None:
    spare = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(spare, path)


def service_logins(settings: Settings, admin_url: str, services: Sequence[str] = SERVICES, *,
                   generate: bool) -> dict[str, str]:
    """Each service's own database URL: its SCHULDENLAB_<SERVICE>_DATABASE_URL, else (with `generate`) the role
    `schuldenlab_<service>` with its generated password on the administrative URL's server and database."""
    passwords = generated_passwords(settings) if generate else {}
    logins = {}
    for name in services:
        own = settings.extra.get(own_url_variable(name))
        if own:
            logins[name] = own
        elif generate:
            logins[name] = with_login(admin_url, f"{ROLE_PREFIX}{name}", passwords[name])
    return logins


async def provision_roles(admin_url: str, logins: Mapping[str, str]) -> None:
    """Create or update each service's role (named by the user and password of its URL) and give it its schema."""
    roles: dict[str, str] = {}
    for service, url in logins.items():
        user, password = login_of(url)
        variable = own_url_variable(service)
        if not user or not password:
            raise ConfigError(f"{variable}={masked_url(url)}: name the service's own role with its password "
                              "(postgresql://ROLE:PASSWORD@HOST/DATABASE); `schuldenlab migrate` creates that role")
        if user in roles:
            raise ConfigError(f"{variable}: the role {user} is also {own_url_variable(roles[user])}'s; "
                              "give each service a role of its own")
        roles[user] = service
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        admin = await conn.fetchval("SELECT current_user")
        if not await conn.fetchval("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"):
            raise ConfigError(f"SCHULDENLAB_DATABASE_URL={masked_url(admin_url)}: its role {admin} may not create "
                              "roles; give an administrative URL, or unset it and migrate each service with its own "
                              "URL if you manage the roles yourself")
        database = await conn.fetchval("SELECT current_database()")
        for service, url in logins.items():
            user, password = login_of(url)
            assert password is not None
            await _provision(conn, database, service, user, password, admin)
        await conn.execute(await _sql(conn, "REVOKE ALL ON DATABASE %I FROM PUBLIC", database))
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    finally:
        await conn.close()


async def _sql(conn: asyncpg.Connection, template: str, *names: str) -> str:
    """A statement with its identifiers and literals quoted by the server itself (format's %I and %L)."""
    return await conn.fetchval(f"SELECT format($1, {', '.join(f'${i}::text' for i in range(2, len(names) + 2))})",
                               template, *names)


async def _provision(conn: asyncpg.Connection, database: str, service: str, role: str, password: str,
                     admin: str) -> None:
    existing = await conn.fetchrow("SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = $1", role)
    if role == admin or (existing is not None and (existing["rolsuper"] or existing["rolcreaterole"])):
        raise ConfigError(f"{own_url_variable(service)}: the role {role} is a superuser or may create roles; "
                          "give the service a role of its own (`schuldenlab migrate` creates it)")
    async with conn.transaction():
        if existing is None:
            await conn.execute(await _sql(conn, "CREATE ROLE %I", role))
        await conn.execute(await _sql(
            conn, "ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS "
                  "PASSWORD %L", role, scram_verifier(password)))
        await conn.execute(await _sql(conn, "GRANT CONNECT ON DATABASE %I TO %I", database, role))
        await conn.execute(await _sql(conn, "CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I", service, role))
        await conn.execute(await _sql(conn, "ALTER SCHEMA %I OWNER TO %I", service, role))
        await conn.execute(await _sql(conn, "REVOKE ALL ON SCHEMA %I FROM PUBLIC", service))
        for extension in load_definition(service).extensions:
            await _extension(conn, extension, service, role)
        await _take_over(conn, service, role)


async def _extension(conn: asyncpg.Connection, extension: str, schema: str, role: str) -> None:
    """An extension the service's migrations use, installed by the administrator (a service role may not), in
    the service's own schema unless the database has it elsewhere already; then usable by the role."""
    await conn.execute(await _sql(conn, "CREATE EXTENSION IF NOT EXISTS %I SCHEMA %I", extension, schema))
    where = await conn.fetchval("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                                "WHERE e.extname = $1", extension)
    if where != schema:
        await conn.execute(await _sql(conn, "GRANT USAGE ON SCHEMA %I TO %I", where, role))


# What a schema made before roles existed holds, owned by the administrator: handed to the service's role.
# Not what an extension brought (the extension owns that), nor a sequence a column owns (it follows its table).
_OWNED_BY_OTHERS = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                      ELSE 'TABLE' END AS kind, c.relname AS name
  FROM pg_class c
 WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
   AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
   AND pg_get_userbyid(c.relowner) <> $2
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('e', 'a'))
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
       format('%s(%s)', p.proname, pg_get_function_identity_arguments(p.oid))
  FROM pg_proc p
 WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1) AND pg_get_userbyid(p.proowner) <> $2
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                      AND d.deptype = 'e')
"""


async def _take_over(conn: asyncpg.Connection, schema: str, role: str) -> None:
    for row in await conn.fetch(_OWNED_BY_OTHERS, schema, role):
        if row["kind"] in ("FUNCTION", "PROCEDURE"):
            # The identity arguments are already in SQL form; the name is quoted here.
            name, _, arguments = row["name"].partition("(")
            target = f"{await _sql(conn, '%I.%I', schema, name)}({arguments}"
        else:
            target = await _sql(conn, "%I.%I", schema, row["name"])
        await conn.execute(f"ALTER {row['kind']} {target} OWNER TO {await _sql(conn, '%I', role)}")
