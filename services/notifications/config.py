"""Notifications' own settings, read from `SCHULDENLAB_WEBHOOK_*` variables through the platform's loader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from notifications.domain.retry import DEFAULT_SCHEDULE, RetryPolicy
from notifications.domain.targets import AllowedHost, parse_allowed_hosts
from servicekit.config import ConfigError, Settings


def _number(settings: Settings, name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = settings.setting(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r}: must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class WebhookSettings:
    allowed_hosts: frozenset[AllowedHost]
    policy: RetryPolicy
    timeout: float
    concurrency: int
    per_host: int
    poll_interval: float
    rotation_grace: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> WebhookSettings:
        schedule_text = settings.setting("SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE")
        try:
            schedule = RetryPolicy.parse_schedule(schedule_text) if schedule_text else DEFAULT_SCHEDULE
        except ValueError as exc:
            raise ConfigError(f"SCHULDENLAB_WEBHOOK_RETRY_SCHEDULE: {exc}") from None
        try:
            allowed_hosts = parse_allowed_hosts(settings.setting("SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS") or "")
        except ValueError as exc:
            raise ConfigError(f"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS: {exc}") from None
        policy = RetryPolicy(
            schedule=schedule,
            jitter=min(1.0, _number(settings, "SCHULDENLAB_WEBHOOK_RETRY_JITTER", 0.2)),
            retry_after_max=_number(settings, "SCHULDENLAB_WEBHOOK_RETRY_AFTER_MAX", 3600.0),
            disable_after=timedelta(seconds=_number(settings, "SCHULDENLAB_WEBHOOK_DISABLE_AFTER", 5 * 86400.0)),
        )
        return cls(
            allowed_hosts=allowed_hosts,
            policy=policy,
            timeout=_number(settings, "SCHULDENLAB_WEBHOOK_TIMEOUT", 10.0, minimum=0.01),
            concurrency=int(_number(settings, "SCHULDENLAB_WEBHOOK_CONCURRENCY", 50, minimum=1)),
            per_host=int(_number(settings, "SCHULDENLAB_WEBHOOK_PER_HOST_CONCURRENCY", 4, minimum=1)),
            poll_interval=_number(settings, "SCHULDENLAB_WEBHOOK_POLL_INTERVAL", 1.0, minimum=0.01),
            rotation_grace=timedelta(seconds=_number(settings, "SCHULDENLAB_WEBHOOK_ROTATION_GRACE", 86400.0)),
        )
