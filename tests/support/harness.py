"""Running services in the test process against a real PostgreSQL and a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI

from schuldenlab.services import load_definition
from servicekit.auth import issue_token
from servicekit.config import Settings
from servicekit.service import ServiceRuntime, create_app

TEST_SIGNING_KEY = "test-signing-key-not-for-production-0123456789"


def service_settings(database_url: str, kafka: str, home: Path, **overrides: str) -> Settings:
    env = {
        "SCHULDENLAB_HOME": str(home),
        "SCHULDENLAB_DATABASE_URL": database_url,
        "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": kafka,
        "SCHULDENLAB_KAFKA_IDEMPOTENCE": "false",  # the embedded broker cannot do it
        "SCHULDENLAB_JWT_SECRET": TEST_SIGNING_KEY,
        "SCHULDENLAB_OUTBOX_POLL_INTERVAL": "0.5",
        "SCHULDENLAB_CONSUMER_BACKOFF_INITIAL": "0.05",
        "SCHULDENLAB_CONSUMER_BACKOFF_MAX": "0.2",
        "SCHULDENLAB_CONSUMER_MAX_ATTEMPTS": "3",
        # The embedded broker lets a consumer join only after half the session timeout.
        "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS": "50",
        # On Apache Kafka: the login, idempotence on, Kafka's own session-timeout floor.
        **getattr(kafka, "env", {}),
        **overrides,
    }
    return Settings.from_env(env)


async def own_role(admin_url: str, service: str) -> str:
    """A database URL for `service` logging in as a role of its own (what `schuldenlab run` insists on), made with
    the administrative `admin_url`; roles belong to the whole server, so each call names a new one."""
    from schuldenlab.roles import provision_roles, with_login

    url = with_login(admin_url, f"t{uuid.uuid4().hex[:8]}_{service}", secrets.token_urlsafe(24))
    await provision_roles(admin_url, {service: url})
    return url


def token(role: str, subject: str | None = None) -> str:
    return issue_token(TEST_SIGNING_KEY, role=role, subject=subject)


def auth(role: str, subject: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(role, subject)}"}


@dataclass
class RunningService:
    name: str
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime


@contextlib.asynccontextmanager
async def running_service(name: str, settings: Settings) -> AsyncIterator[RunningService]:
    """The service's app with its lifespan (migrations, pool, broker, relay, consumer) and an HTTP client."""
    app = create_app(load_definition(name), settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield RunningService(name, app, client)


async def eventually(check: Callable[[], Awaitable[object]], *, timeout: float = 15.0, interval: float = 0.05):
    """Poll until `check` returns something truthy; fail with the last result or error after `timeout`."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s; last result: {last!r}")
        await asyncio.sleep(interval)
