"""The asyncpg pool of one service, confined to that service's own schema, and bounded in how long it waits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from servicekit import tracing
from servicekit.config import ConfigError, Settings
from servicekit.loglines import one_line


async def _init_connection(conn: asyncpg.Connection) -> None:
    # JSON columns come back as Python values, and go in from Python values, everywhere alike.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


# The client gives up on a statement this much after the server's statement_timeout would have ended it:
# a server that answers cancels the statement itself and the connection stays usable; only one that does
# not answer at all (frozen, cut off) is given up by the client.
CLIENT_GRACE = 1.0
# PostgreSQL keeps timeouts in milliseconds in a 32-bit integer.
_MAX_SECONDS = (2**31 - 1) // 1000


@dataclass(frozen=True)
class DatabaseLimits:
    """How long a service waits for its database before it calls it unavailable (README: configuration)."""

    connect: float = 5.0  # to open a connection: TCP, TLS and login
    acquire: float = 5.0  # for a connection of the pool, opening one included
    statement: float = 5.0  # for one statement (the server's statement_timeout; lock waits count)
    transaction: float = 10.0  # for a unit of work, from asking for its connection to its commit

    @classmethod
    def from_settings(cls, settings: Settings) -> DatabaseLimits:
        """The limits SCHULDENLAB_DATABASE_*_TIMEOUT set (or the service's own); a bad value stops the start."""
        values = {}
        for name in ("connect", "acquire", "statement", "transaction"):
            variable = settings.variable(f"DATABASE_{name.upper()}_TIMEOUT")
            value = settings.decimal(variable, math.nan, above=0, most=_MAX_SECONDS, unit="seconds")
            if not math.isnan(value):  # NaN: not set, the default stands
                values[name] = value
        return cls(**values)


DEFAULT_LIMITS = DatabaseLimits()


class Pool(asyncpg.Pool):
    """asyncpg's pool, whose every wait for a connection ends after `limits.acquire` unless a caller says otherwise.

    Bounded here rather than at each caller, so no use of the pool (a request, the consumer, the relay,
    a service's own worker) can wait for a connection without end.
    """

    def __init__(self, *args: object, limits: DatabaseLimits, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def acquire(self, *, timeout: float | None = None):
        return super().acquire(timeout=self.limits.acquire if timeout is None else timeout)


def limits_of(pool: object) -> DatabaseLimits:
    """The limits of a pool made by create_pool (or of anything else carrying them); else the defaults."""
    limits = getattr(pool, "limits", None)
    return limits if isinstance(limits, DatabaseLimits) else DEFAULT_LIMITS


async def create_pool(dsn: str, schema: str, *, min_size: int = 1, max_size: int = 10,
                      limits: DatabaseLimits = DEFAULT_LIMITS) -> Pool:
    """A pool whose connections see only `schema` (and pg_catalog) on their search path, within `limits`."""
    pool = Pool(
        dsn,
        limits=limits,
        min_size=min_size,
        max_size=max_size,
        # asyncpg.create_pool's defaults; create_pool cannot make a subclass, so the pool is made here.
        max_queries=50_000,
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        init=_init_connection,
        timeout=limits.connect,
        command_timeout=limits.statement + CLIENT_GRACE,
        server_settings={"search_path": schema, "application_name": f"schuldenlab-{schema}",
                         # Whole milliseconds, at least 1: 0 would switch the limit off.
                         "statement_timeout": str(max(1, round(limits.statement * 1000)))},
    )
    await pool
    return pool


async def connect(dsn: str, schema: str, *, timeout: float = DEFAULT_LIMITS.connect) -> asyncpg.Connection:
    """One connection with the same settings as the pool's, e.g. for LISTEN or migrations."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema}, timeout=timeout)
    await _init_connection(conn)
    return conn


class DatabaseUnavailable(Exception):
    """The database did not serve a unit of work in time or at all; `reason` says how, without any data.

    The API answers it with 503 and Retry-After, the consumer waits it out instead of counting it
    against the event: it says nothing about the request or the event, only about the database.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"the database is unavailable: {reason}")
        self.reason = reason


# SQLSTATEs of a server that cannot serve now, rather than of a statement that is wrong: the classes
# 08 (connection exception), 53 (insufficient resources: too many connections, out of memory, disk
# full) and 57 (operator intervention: statement_timeout's query_canceled, admin or crash shutdown,
# cannot_connect_now while starting), and the server's own ends of an idle or overlong transaction.
_UNAVAILABLE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_STATES = frozenset({"25P03", "25P04"})


def unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database is unreachable or too slow, not that the work itself is wrong.

    The one place that decides it, for the API's 503, the consumer's waiting and the relay's backoff.
    Timeouts (of acquire, of a statement, of the transaction), refused or broken connections, a host
    that does not resolve, TLS that fails, and the SQLSTATEs above.
    """
    if isinstance(exc, DatabaseUnavailable | OSError):
        return True  # OSError includes TimeoutError, refused and reset connections, DNS and TLS errors
    if isinstance(exc, asyncpg.InternalClientError):
        # The driver lost track of a connection's protocol state: seen when the server shuts down while
        # the connection is in use ("cannot switch to state ...; another operation is in progress").
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_STATES
    return False


def describe(exc: BaseException) -> str:
    """Why the database is unavailable, in a few words: never a statement, a parameter or a password."""
    if isinstance(exc, DatabaseUnavailable):
        return exc.reason
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "a statement was cancelled (statement_timeout)"
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError) or "Connect call failed" in str(exc):
        return "connection refused"
    if isinstance(exc, asyncpg.ConnectionDoesNotExistError | ConnectionError | asyncpg.InternalClientError
                  | asyncpg.InterfaceError):
        return "connection lost"
    if isinstance(exc, asyncpg.PostgresError):
        return f"{type(exc).__name__} (SQLSTATE {getattr(exc, 'sqlstate', None)})"
    return type(exc).__name__


@asynccontextmanager
async def transaction(pool: asyncpg.Pool, *, single_statement: bool = False) -> AsyncIterator[asyncpg.Connection]:
    """A connection of `pool` in a transaction: committed when the block ends, rolled back when it raises.

    With `single_statement`, for a read of one statement (which is a transaction of its own), no BEGIN and
    COMMIT are sent: two round trips of a read's four (issue 13); the same bounds and errors otherwise.

    Bounded: the block, from asking for the connection to the commit, has `limits.transaction`; each
    statement has the pool's statement timeout. A connection whose server did not answer (or whose
    work was cut off) is closed rather than asked to roll back, as a server that does not answer would
    not answer that either; the server rolls back by itself when the connection drops. Whatever says
    the database is unavailable leaves as DatabaseUnavailable.
    """
    limits = limits_of(pool)
    conn = None
    try:
        async with asyncio.timeout(limits.transaction) as deadline, tracing.database("transaction"):
            async with pool.acquire() as conn:
                if single_statement:
                    yield conn
                    return
                # Entered by hand rather than with `async with`, which would ask a silent server to roll back.
                tx = conn.transaction()
                try:
                    await tx.__aenter__()
                except BaseException:
                    conn.terminate()  # BEGIN fails only when the connection does
                    raise
                try:
                    yield conn
                except BaseException as exc:
                    if _server_answers(conn, exc):
                        await _end(conn, tx, exc)
                    else:
                        conn.terminate()
                    raise
                await _end(conn, tx, None)
    except DatabaseUnavailable:
        raise
    except Exception as exc:
        # A closed connection makes asyncpg raise all sorts of InterfaceErrors ("the underlying connection
        # is closed", ...): the cause is the connection, not the work.
        lost = isinstance(exc, asyncpg.InterfaceError) and conn is not None and _closed(conn)
        if not (unavailable(exc) or lost):
            raise
        reason = f"the unit of work took over {limits.transaction:g} s" if deadline.expired() else describe(exc)
        raise DatabaseUnavailable(reason) from exc


def _server_answers(conn: asyncpg.Connection, exc: BaseException) -> bool:
    """Whether `conn` can still be asked to roll back after `exc` ended the block."""
    if not isinstance(exc, Exception):
        return False  # cancelled (by the deadline, say) in the middle of who knows what
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        # The server's or the driver's own error: fine if the connection is still open (statement_timeout
        # ends a statement, not the session), unless the driver has lost track of it.
        return not _closed(conn)
    return not unavailable(exc)  # the work's own error (a 409, say) leaves the connection fine


def _closed(conn: asyncpg.Connection) -> bool:
    try:
        return conn.is_closed()
    except (AttributeError, asyncpg.InterfaceError):  # a proxy whose connection the pool took back: it closed
        return True


async def _end(conn: asyncpg.Connection, tx: asyncpg.transaction.Transaction, exc: BaseException | None) -> None:
    """Commit (no `exc`) or roll back; a connection that fails at it is closed, not returned to the pool."""
    try:
        await tx.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)
    except BaseException:
        conn.terminate()
        raise


async def probe(pool: asyncpg.Pool, timeout: float | None = None) -> str | None:
    """None when the database answers `SELECT 1` within `timeout` (the statement limit), else why not."""
    limit = limits_of(pool).statement if timeout is None else timeout
    try:
        async with asyncio.timeout(limit):
            async with pool.acquire() as conn:
                try:
                    await conn.fetchval("SELECT 1")
                except BaseException:
                    conn.terminate()  # a probe must never wait on a connection that stopped answering
                    raise
    except Exception as exc:
        return f"no answer within {limit:g} s" if isinstance(exc, TimeoutError) else describe(exc)
    return None


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


async def check_database(settings: Settings, *, timeout: float = 10.0, refuse_superuser: bool = False) -> None:
    """Log in once and ask `SELECT 1`, so a wrong database URL is one line naming its variable, not a traceback.

    The line names the variable the operator set (the service's own SCHULDENLAB_<SERVICE>_DATABASE_URL
    or the general one) and shows the URL with its password masked. With `refuse_superuser` (a service
    about to run), a login as a superuser, or as a role that may create roles, is refused the same way:
    a service gets a role of its own that owns its schema and nothing else.
    """
    url = settings.require_database_url()
    try:
        conn = await asyncpg.connect(url, timeout=timeout)
        try:
            powerful = await conn.fetchrow("SELECT current_user AS name, rolsuper OR rolcreaterole AS powerful "
                                           "FROM pg_roles WHERE rolname = current_user")
        finally:
            await conn.close()
    except Exception as exc:
        reason = _why_not(exc, timeout)
        password = url_password(url)
        if password:  # no driver message is known to quote it; this keeps it so
            reason = reason.replace(password, "***")
        raise ConfigError(f"{settings.variable('DATABASE_URL')}={masked_url(url)}: {one_line(reason)}") from exc
    if refuse_superuser and powerful is not None and powerful["powerful"]:
        raise ConfigError(
            f"{settings.variable('DATABASE_URL')}={masked_url(url)}: logs in as {powerful['name']}, a superuser or a "
            f"role that may create roles; give the service a role of its own (`schuldenlab migrate` with an "
            f"administrative SCHULDENLAB_DATABASE_URL creates it from SCHULDENLAB_<SERVICE>_DATABASE_URL)")


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
