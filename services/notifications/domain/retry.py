"""When to try a delivery again, when to give up, and when a subscription must be disabled."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class RetryPolicy:
    """`schedule[i]` is the delay before attempt i+1 of a round; its length is the attempts per round."""

    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2  # +-20 %, so receivers that failed together are not retried in lockstep
    retry_after_max: float = 3600.0  # a receiver's Retry-After is honoured up to this many seconds
    disable_after: timedelta = timedelta(days=5)

    @classmethod
    def parse_schedule(cls, text: str) -> tuple[float, ...]:
        try:
            delays = tuple(float(part) for part in text.split(",") if part.strip())
        except ValueError as exc:
            raise ValueError(f"expected comma-separated seconds, got {text!r}") from exc
        if not delays or any(d < 0 for d in delays):
            raise ValueError(f"expected at least one non-negative delay, got {text!r}")
        return delays


class Result(enum.StrEnum):
    SUCCEEDED = "succeeded"  # a 2xx within the timeout
    GONE = "gone"  # 410: the receiver asks us to stop for good
    FAILED = "failed"  # anything else: other status, redirect, timeout, refused target


def classify(status_code: int | None) -> Result:
    if status_code is not None and 200 <= status_code < 300:
        return Result.SUCCEEDED
    if status_code == 410:
        return Result.GONE
    return Result.FAILED


class Verdict(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRY = "retry"
    FAILED = "failed"  # the round's attempts are spent


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    retry_in: float | None = None
    disable_reason: str | None = None


def decide(policy: RetryPolicy, result: Result, *, attempt_in_round: int, retry_after: float | None,
           failing_since: datetime | None, now: datetime, random_unit: float) -> Decision:
    """What follows attempt number `attempt_in_round` (1-based); `random_unit` in [0, 1) drives the jitter."""
    if result is Result.SUCCEEDED:
        return Decision(Verdict.SUCCEEDED)
    if result is Result.GONE:
        return Decision(Verdict.FAILED, disable_reason=f"the receiver answered 410 Gone at {now.isoformat()}")
    disable_reason = None
    if failing_since is not None and now - failing_since >= policy.disable_after:
        disable_reason = (f"deliveries failing since {failing_since.isoformat()}, longer than "
                          f"{policy.disable_after.total_seconds():.0f} s")
    if attempt_in_round >= len(policy.schedule) or disable_reason:
        return Decision(Verdict.FAILED, disable_reason=disable_reason)
    delay = policy.schedule[attempt_in_round] * (1 + policy.jitter * (2 * random_unit - 1))
    if retry_after is not None:
        delay = max(delay, min(retry_after, policy.retry_after_max))
    return Decision(Verdict.RETRY, retry_in=max(0.0, delay))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())
