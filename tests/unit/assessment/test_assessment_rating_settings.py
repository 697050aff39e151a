"""The rating settings are read at start; a bad one stops the service with one line naming the variable."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assessment.config import RatingSettings
from catalogue.entrypoints.expiry import check_interval
from servicekit.config import ConfigError, Settings


def _settings(**env: str) -> RatingSettings:
    return RatingSettings.from_settings(Settings.from_env(env))


def test_defaults_are_three_years_with_ninety_days_notice():
    s = _settings()
    assert (s.policy.validity, s.policy.notice) == (timedelta(days=1095), timedelta(days=90))


def test_fractional_days_give_ratings_of_seconds_for_tests():
    s = _settings(SCHULDENLAB_RATING_VALIDITY_DAYS="0.0001", SCHULDENLAB_REASSESSMENT_NOTICE_DAYS="0.00005",
                  SCHULDENLAB_RATING_CHECK_INTERVAL="0.2")
    assert s.policy.validity == timedelta(seconds=8.64) and s.check_interval == 0.2


@pytest.mark.parametrize(("env", "named"), [
    ({"SCHULDENLAB_RATING_VALIDITY_DAYS": "three years"}, "SCHULDENLAB_RATING_VALIDITY_DAYS"),
    ({"SCHULDENLAB_RATING_VALIDITY_DAYS": "0"}, "SCHULDENLAB_RATING_VALIDITY_DAYS"),
    ({"SCHULDENLAB_REASSESSMENT_NOTICE_DAYS": "-1"}, "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS"),
    ({"SCHULDENLAB_REASSESSMENT_NOTICE_DAYS": "2000"}, "SCHULDENLAB_REASSESSMENT_NOTICE_DAYS"),
    ({"SCHULDENLAB_RATING_CHECK_INTERVAL": "nan"}, "SCHULDENLAB_RATING_CHECK_INTERVAL"),
])
def test_a_bad_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(ConfigError) as refused:
        _settings(**env)
    assert str(refused.value).startswith(named) and "\n" not in str(refused.value)


@pytest.mark.parametrize("raw", ["0.5", "86400", "86401", "0", "nan"])
def test_the_check_interval_both_services_read_is_read_one_way(raw):
    # Assessment's re-assessment scheduler and catalogue's expiry job are paced by the same variable.
    settings = Settings.from_env({"SCHULDENLAB_RATING_CHECK_INTERVAL": raw})
    try:
        expected = check_interval(settings)
    except ConfigError as refused:
        with pytest.raises(ConfigError, match=str(refused)):
            RatingSettings.from_settings(settings)
    else:
        assert RatingSettings.from_settings(settings).check_interval == expected
