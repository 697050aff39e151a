"""A database role per service (issue 12): each owns its schema, reads no other, and has no superuser's powers.

Roles belong to the whole server, which the tests of a session share: each test names its own roles.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import uuid

import asyncpg
import pytest

from schuldenlab.migrations import migrate_all, migrate_services
from schuldenlab.roles import scram_verifier, with_login
from schuldenlab.services import SERVICES
from servicekit.config import ConfigError, Settings
from tests.integration.test_operator_errors import clean_env, the_one_line
from tests.support.kafka import endpoint_env

pytestmark = pytest.mark.integration


def _settings(admin: str, home, logins: dict[str, str]) -> Settings:
    env = {"SCHULDENLAB_HOME": str(home), "SCHULDENLAB_DATABASE_URL": admin}
    env |= {f"SCHULDENLAB_{name.upper()}_DATABASE_URL": url for name, url in logins.items()}
    return Settings.from_env(env)


def _logins(admin: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {name: with_login(admin, f"t{tag}_{name}", secrets.token_urlsafe(24)) for name in SERVICES}


async def _as(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def test_each_service_role_owns_its_schema_reads_no_other_and_has_no_superuser_powers(fresh_database, tmp_path):
    logins = _logins(fresh_database)
    applied = await migrate_services(_settings(fresh_database, tmp_path, logins), fresh_database,
                                     generate_roles=False)
    assert any(line.startswith("notifications:") for line in applied)
    for name, url in logins.items():
        conn = await _as(url)
        try:
            role = await conn.fetchrow("SELECT * FROM pg_roles WHERE rolname = current_user")
            assert not (role["rolsuper"] or role["rolcreaterole"] or role["rolcreatedb"] or role["rolreplication"]
                        or role["rolbypassrls"])
            assert await conn.fetchval(f"SELECT count(*) FROM {name}.outbox") == 0  # its own: yes
            for other in SERVICES:
                if other != name:
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.fetch(f"SELECT * FROM {other}.outbox LIMIT 1")
            if name != "notifications":  # the webhook secrets, above all
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await conn.fetch("SELECT * FROM notifications.subscriptions LIMIT 1")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # what only a superuser may: run programs
                await conn.execute("COPY (SELECT 1) TO PROGRAM 'true'")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE SCHEMA elsewhere")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):  # PUBLIC's default rights are revoked
                await conn.execute("CREATE TEMPORARY TABLE scratch (id int)")
        finally:
            await conn.close()

    admin = await _as(fresh_database)
    try:
        # Every object of a service's schema is its role's.
        owners = await admin.fetch(
            """SELECT n.nspname AS schema, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ANY($1::text[])""", list(SERVICES))
        assert owners and all(r["owner"] == logins[r["schema"]].split("//")[1].split(":")[0] for r in owners)
        # A login without grants, as any other role of the server would be, cannot even connect.
        stranger = f"t{uuid.uuid4().hex[:8]}_stranger"
        await admin.execute(f"CREATE ROLE {stranger} LOGIN PASSWORD '{scram_verifier('x' * 20)}'")
    finally:
        await admin.close()
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await _as(with_login(fresh_database, stranger, "x" * 20))


async def test_provisioning_again_changes_nothing_but_a_new_password(fresh_database, tmp_path):
    logins = _logins(fresh_database)
    await migrate_services(_settings(fresh_database, tmp_path, logins), fresh_database, generate_roles=False)
    renewed = dict(logins, catalogue=with_login(fresh_database, logins["catalogue"].split("//")[1].split(":")[0],
                                                "a-new-password-for-catalogue"))
    again = await migrate_services(_settings(fresh_database, tmp_path, renewed), fresh_database, generate_roles=False)
    assert again == []
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _as(logins["catalogue"])
    conn = await _as(renewed["catalogue"])
    await conn.close()


async def test_a_schema_migrated_before_roles_existed_is_handed_to_the_service_role(fresh_database, tmp_path):
    await migrate_all(fresh_database)  # as earlier versions did: everything owned by the administrator
    admin = await _as(fresh_database)
    await admin.execute("INSERT INTO catalogue.outbox (event_id, topic, key, ce_type, ce_source, ce_time, payload) "
                        "VALUES (gen_random_uuid(), 't', 'k', 'x', '/s', now(), '{}')")
    await admin.close()
    logins = _logins(fresh_database)
    await migrate_services(_settings(fresh_database, tmp_path, logins), fresh_database, generate_roles=False)
    conn = await _as(logins["catalogue"])
    try:
        assert await conn.fetchval("SELECT count(*) FROM catalogue.outbox") == 1
        await conn.execute("UPDATE catalogue.outbox SET key = 'k2'")  # it may write what it took over
        # The search function of migration 0001 runs as the role (the extension's schema is usable).
        assert await conn.fetchval("SELECT catalogue.dutch_search_text('Fryslân')") is not None
    finally:
        await conn.close()


async def test_a_role_that_is_no_role_of_its_own_is_refused_in_one_line(fresh_database, tmp_path):
    logins = _logins(fresh_database)
    shared = dict(logins, assessment=logins["catalogue"])
    with pytest.raises(ConfigError, match=r"SCHULDENLAB_ASSESSMENT_DATABASE_URL: the role \S+ is also"):
        await migrate_services(_settings(fresh_database, tmp_path, shared), fresh_database, generate_roles=False)
    superuser = dict(logins, partnering=fresh_database)
    with pytest.raises(ConfigError, match="SCHULDENLAB_PARTNERING_DATABASE_URL: the role postgres is a superuser"):
        await migrate_services(_settings(fresh_database, tmp_path, superuser), fresh_database, generate_roles=False)


def test_schuldenlab_run_refuses_to_run_a_service_as_a_superuser(fresh_database, fresh_kafka, tmp_path):
    env = clean_env(tmp_path, SCHULDENLAB_DATABASE_URL=fresh_database, SCHULDENLAB_KAFKA_IDEMPOTENCE="false",
                    **endpoint_env(fresh_kafka))
    result = subprocess.run([sys.executable, "-m", "schuldenlab", "run", "catalogue"], env=env,
                            capture_output=True, text=True, timeout=120)
    line = the_one_line(result)
    assert "SCHULDENLAB_DATABASE_URL=postgresql://postgres:***@" in line and "a superuser" in line
    password = fresh_database.split(":")[2].split("@")[0]
    assert password not in result.stdout + result.stderr
