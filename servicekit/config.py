"""Configuration of a service and of the platform, read once from `SCHULDENLAB_*` environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICE_PORTS: dict[str, int] = {"catalogue": 8001, "assessment": 8002, "partnering": 8003, "notifications": 8004}


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names the variable."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true or false")


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r}: expected a {kind.__name__}") from exc
    if value < 0:
        raise ConfigError(f"{name}={raw!r}: must not be negative")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything a service process or the CLI needs to know; see the README's configuration table."""

    home: Path
    database_url: str | None
    kafka_bootstrap_servers: str | None
    kafka_idempotence: bool = True
    kafka_session_timeout_ms: int = 10_000
    kafka_fetch_max_wait_ms: int = 500
    jwt_secret: str | None = None
    bind_host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(SERVICE_PORTS))
    outbox_poll_interval: float = 1.0
    consumer_max_attempts: int = 5
    consumer_backoff_initial: float = 0.2
    consumer_backoff_max: float = 5.0
    migrate_on_start: bool = True
    log_level: str = "INFO"
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        ports = dict(SERVICE_PORTS)
        for service in SERVICE_PORTS:
            ports[service] = int(_number(env, f"SCHULDENLAB_{service.upper()}_PORT", ports[service], int))
        return cls(
            home=Path(env.get("SCHULDENLAB_HOME") or ".schuldenlab").resolve(),
            database_url=env.get("SCHULDENLAB_DATABASE_URL") or None,
            kafka_bootstrap_servers=env.get("SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS") or None,
            kafka_idempotence=_bool(env, "SCHULDENLAB_KAFKA_IDEMPOTENCE", True),
            kafka_session_timeout_ms=int(_number(env, "SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS", 10_000, int)),
            kafka_fetch_max_wait_ms=int(_number(env, "SCHULDENLAB_KAFKA_FETCH_MAX_WAIT_MS", 500, int)),
            jwt_secret=env.get("SCHULDENLAB_JWT_SECRET") or None,
            bind_host=env.get("SCHULDENLAB_BIND_HOST") or "127.0.0.1",
            ports=ports,
            outbox_poll_interval=_number(env, "SCHULDENLAB_OUTBOX_POLL_INTERVAL", 1.0),
            consumer_max_attempts=max(1, int(_number(env, "SCHULDENLAB_CONSUMER_MAX_ATTEMPTS", 5, int))),
            consumer_backoff_initial=_number(env, "SCHULDENLAB_CONSUMER_BACKOFF_INITIAL", 0.2),
            consumer_backoff_max=_number(env, "SCHULDENLAB_CONSUMER_BACKOFF_MAX", 5.0),
            migrate_on_start=_bool(env, "SCHULDENLAB_MIGRATE_ON_START", True),
            log_level=(env.get("SCHULDENLAB_LOG_LEVEL") or "INFO").upper(),
            extra={k: v for k, v in env.items() if k.startswith("SCHULDENLAB_")},
        )

    def require_database_url(self) -> str:
        if not self.database_url:
            raise ConfigError("SCHULDENLAB_DATABASE_URL is not set (`schuldenlab up` sets it for its services)")
        return self.database_url

    def require_kafka(self) -> str:
        if not self.kafka_bootstrap_servers:
            raise ConfigError(
                "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS is not set (`schuldenlab up` sets it for its services)"
            )
        return self.kafka_bootstrap_servers

    def signing_key(self, *, create: bool = False) -> str:
        """The HS256 key: SCHULDENLAB_JWT_SECRET, else the key kept in the state directory."""
        if self.jwt_secret:
            return self.jwt_secret
        path = self.home / "jwt.key"
        if path.exists():
            return path.read_text().strip()
        if not create:
            raise ConfigError(f"SCHULDENLAB_JWT_SECRET is not set and {path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # Created with 0600 from the start so the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key

    def setting(self, name: str, default: str | None = None) -> str | None:
        """A service-specific variable (e.g. SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS), read through the one loader."""
        return self.extra.get(name, default)

    def url_of(self, service: str) -> str:
        return f"http://{self.bind_host}:{self.ports[service]}"
