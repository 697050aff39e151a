"""Notifications' own settings, read from `SCHULDENLAB_WEBHOOK_*` variables through the platform's loader."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from notifications.domain.retry import DEFAULT_SCHEDULE, RetryPolicy
from notifications.domain.targets import AllowedHost, parse_allowed_hosts
from servicekit.config import ConfigError, Settings

DAY = 86_400  # seconds


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
            jitter=settings.decimal("SCHULDENLAB_WEBHOOK_RETRY_JITTER", 0.2, most=1),
            retry_after_max=settings.decimal("SCHULDENLAB_WEBHOOK_RETRY_AFTER_MAX", 3600.0, most=DAY * 30,
                                             unit="seconds"),
            disable_after=timedelta(seconds=settings.decimal("SCHULDENLAB_WEBHOOK_DISABLE_AFTER", 5 * DAY,
                                                             most=DAY * 365, unit="seconds")),
        )
        return cls(
            allowed_hosts=allowed_hosts,
            policy=policy,
            timeout=settings.decimal("SCHULDENLAB_WEBHOOK_TIMEOUT", 10.0, least=0.01, most=300, unit="seconds"),
            concurrency=settings.whole("SCHULDENLAB_WEBHOOK_CONCURRENCY", 50, least=1, most=10_000),
            per_host=settings.whole("SCHULDENLAB_WEBHOOK_PER_HOST_CONCURRENCY", 4, least=1, most=1_000),
            poll_interval=settings.decimal("SCHULDENLAB_WEBHOOK_POLL_INTERVAL", 1.0, least=0.01, most=3600,
                                           unit="seconds"),
            rotation_grace=timedelta(seconds=settings.decimal("SCHULDENLAB_WEBHOOK_ROTATION_GRACE", float(DAY),
                                                              most=DAY * 365, unit="seconds")),
        )
