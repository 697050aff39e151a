"""The assessment's own settings: how long a proven rating lasts and how often the scheduler looks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from assessment.domain.rating import DEFAULT_NOTICE, DEFAULT_VALIDITY, RatingPolicy
from servicekit.config import ConfigError, Settings

VALIDITY = "SCHULDENLAB_RATING_VALIDITY_DAYS"
NOTICE = "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS"
INTERVAL = "SCHULDENLAB_RATING_CHECK_INTERVAL"
DEFAULT_INTERVAL = 60.0  # seconds; a day's notice is never late by more than this


def number(settings: Settings, name: str, default: float, *, positive: bool) -> float:
    """A decimal setting; fractions are allowed so that tests can run a rating of a few seconds."""
    raw = (settings.setting(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or value > 36_500:
        bound = "above 0" if positive else "at least 0"
        raise ConfigError(f"{name}={raw!r}: expected a number {bound} and at most 36500")
    return value


@dataclass(frozen=True)
class RatingSettings:
    policy: RatingPolicy
    check_interval: float  # seconds between the scheduler's passes

    @classmethod
    def from_settings(cls, settings: Settings) -> RatingSettings:
        validity = number(settings, VALIDITY, DEFAULT_VALIDITY / timedelta(days=1), positive=True)
        notice = number(settings, NOTICE, DEFAULT_NOTICE / timedelta(days=1), positive=False)
        if notice >= validity:
            raise ConfigError(f"{NOTICE}={notice:g}: must be less than {VALIDITY} ({validity:g}), or every "
                              "rating would be re-assessed the moment it is given")
        return cls(policy=RatingPolicy(timedelta(days=validity), timedelta(days=notice)),
                   check_interval=number(settings, INTERVAL, DEFAULT_INTERVAL, positive=True))
