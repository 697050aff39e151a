"""The one reading of numeric settings: a mistake stops the start with one line naming the variable and the bounds."""

from __future__ import annotations

import pytest

from servicekit.broker import ConsumerBatching
from servicekit.config import ConfigError, Settings, decimal_number, whole_number
from servicekit.db import DatabaseLimits


@pytest.mark.parametrize("raw", ["", "  ", None])
def test_an_unset_or_empty_number_is_its_default(raw):
    assert whole_number("SCHULDENLAB_X", raw, 7, least=1, most=10) == 7
    assert decimal_number("SCHULDENLAB_X", raw, 0.5, most=10) == 0.5


@pytest.mark.parametrize("raw", ["0", "11", "-1", "1.5", "1e3", "٣", "ten", "9" * 40])
def test_a_whole_number_outside_its_bounds_or_no_whole_number_is_refused_naming_the_variable(raw):
    with pytest.raises(ConfigError) as refused:
        whole_number("SCHULDENLAB_X", raw, 7, least=1, most=10, unit="days")
    assert str(refused.value) == f"SCHULDENLAB_X={raw!r}: expected a whole number of days from 1 to 10"


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0", "-0.5", "3601", "soon"])
def test_a_decimal_that_is_not_finite_or_outside_its_bounds_is_refused(raw):
    expected = r"^SCHULDENLAB_Y='.*': expected a number of seconds above 0 and at most 3600$"
    with pytest.raises(ConfigError, match=expected):
        decimal_number("SCHULDENLAB_Y", raw, 1.0, above=0, most=3600, unit="seconds")


def test_numbers_within_bounds_are_read_with_surrounding_blanks():
    assert whole_number("SCHULDENLAB_X", " 10 ", 7, least=1, most=10) == 10
    assert decimal_number("SCHULDENLAB_Y", "0.25", 1.0, above=0, most=3600) == 0.25


@pytest.mark.parametrize(("variable", "raw"), [
    ("SCHULDENLAB_CATALOGUE_PORT", "70000"),
    ("SCHULDENLAB_OUTBOX_POLL_INTERVAL", "0"),  # a relay that never pauses would spin a core
    ("SCHULDENLAB_OUTBOX_POLL_INTERVAL", "nan"),
    ("SCHULDENLAB_CONSUMER_MAX_ATTEMPTS", "0"),  # was quietly taken as 1
    ("SCHULDENLAB_KAFKA_SESSION_TIMEOUT_MS", "0"),
    ("SCHULDENLAB_CONSUMER_BACKOFF_MAX", "inf"),
    ("SCHULDENLAB_TOKEN_MAX_TTL", "0"),
])
def test_the_platform_settings_refuse_values_that_would_fail_later_or_spin(variable, raw):
    with pytest.raises(ConfigError, match=f"^{variable}='{raw}': expected a"):
        Settings.from_env({variable: raw})


def test_runtime_settings_read_through_the_same_function():
    settings = Settings.from_env({"SCHULDENLAB_DATABASE_STATEMENT_TIMEOUT": "2.5",
                                  "SCHULDENLAB_CONSUMER_BATCH_MAX_RECORDS": "200"})
    assert DatabaseLimits.from_settings(settings).statement == 2.5
    assert ConsumerBatching.from_settings(settings).max_records == 200
    with pytest.raises(ConfigError, match=r"^SCHULDENLAB_DATABASE_CONNECT_TIMEOUT='0': expected a number of seconds"):
        DatabaseLimits.from_settings(Settings.from_env({"SCHULDENLAB_DATABASE_CONNECT_TIMEOUT": "0"}))
