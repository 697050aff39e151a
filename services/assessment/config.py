"""The assessment's own settings: how long a proven rating lasts and how often the scheduler looks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from assessment.domain.rating import DEFAULT_NOTICE, DEFAULT_VALIDITY, RatingPolicy
from servicekit import periodic
from servicekit.config import ConfigError, Settings

VALIDITY = "SCHULDENLAB_RATING_VALIDITY_DAYS"
NOTICE = "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS"
INTERVAL = "SCHULDENLAB_RATING_CHECK_INTERVAL"
DEFAULT_INTERVAL = 60.0  # seconds; a day's notice is never late by more than this


def _days(settings: Settings, name: str, default: float, *, positive: bool) -> float:
    """Days, fractions allowed so that tests can run a rating of a few seconds."""
    return settings.decimal(name, default, above=0 if positive else None, most=36_500, unit="days")


@dataclass(frozen=True)
class RatingSettings:
    policy: RatingPolicy
    check_interval: float  # seconds between the scheduler's passes

    @classmethod
    def from_settings(cls, settings: Settings) -> RatingSettings:
        validity = _days(settings, VALIDITY, DEFAULT_VALIDITY / timedelta(days=1), positive=True)
        notice = _days(settings, NOTICE, DEFAULT_NOTICE / timedelta(days=1), positive=False)
        if notice >= validity:
            raise ConfigError(f"{NOTICE}={notice:g}: must be less than {VALIDITY} ({validity:g}), or every "
                              "rating would be re-assessed the moment it is given")
        return cls(policy=RatingPolicy(timedelta(days=validity), timedelta(days=notice)),
                   check_interval=periodic.interval_setting(settings, INTERVAL, DEFAULT_INTERVAL))
