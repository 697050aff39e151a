"""The limit on public submissions per client address (servicekit.ratelimit, as the catalogue configures it)."""

from __future__ import annotations

import pytest

from catalogue.bootstrap import definition
from catalogue.entrypoints.limits import SUBMISSIONS_LIMIT
from servicekit.config import ConfigError, Settings
from servicekit.ratelimit import RateLimited, RateLimiter, client_key, exempt_networks, per_hour


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(**env: str) -> Settings:
    return Settings.from_env({"SCHULDENLAB_HOME": "/tmp/unused", **env})


def test_an_address_gets_its_hourly_allowance_then_429_saying_when_the_next_one_comes():
    clock = Clock()
    limiter = RateLimiter(4, clock=clock)
    for _ in range(4):
        limiter.take("198.51.100.7")
    with pytest.raises(RateLimited) as caught:
        limiter.take("198.51.100.7")
    assert caught.value.retry_after == 900  # one more every 3600 / 4 s
    limiter.take("203.0.113.9")  # another address is not held back
    clock.now += 899
    with pytest.raises(RateLimited) as again:
        limiter.take("198.51.100.7")
    assert again.value.retry_after == 1
    clock.now += 1
    limiter.take("198.51.100.7")
    clock.now += 3600 * 10  # a long pause refills the bucket, but never beyond the allowance
    for _ in range(4):
        limiter.take("198.51.100.7")
    with pytest.raises(RateLimited):
        limiter.take("198.51.100.7")


def test_ipv6_addresses_of_one_subscriber_share_a_bucket_and_mapped_ipv4_is_the_ipv4_address():
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:198.51.100.7") == "198.51.100.7"
    limiter = RateLimiter(1, clock=Clock())
    limiter.take("2001:db8:1:2::1")
    with pytest.raises(RateLimited):
        limiter.take("2001:db8:1:2::2")


def test_exempt_networks_and_a_zero_limit_are_never_held_back():
    loopback = RateLimiter(1, exempt_networks(settings()), clock=Clock())
    for _ in range(5):
        loopback.take("127.0.0.1")
        loopback.take("::1")
    with pytest.raises(RateLimited):
        for _ in range(2):
            loopback.take("198.51.100.7")
    strict = RateLimiter(1, exempt_networks(settings(SCHULDENLAB_RATE_LIMIT_EXEMPT="")), clock=Clock())
    strict.take("127.0.0.1")
    with pytest.raises(RateLimited):
        strict.take("127.0.0.1")
    off = RateLimiter(0, clock=Clock())
    for _ in range(100):
        off.take("198.51.100.7")
    assert len(off) == 0


def test_the_buckets_kept_are_bounded_forgetting_refilled_ones_first():
    clock = Clock()
    limiter = RateLimiter(2, clock=clock, max_buckets=3)
    limiter.take("198.51.100.1")
    clock.now += 3600  # refilled: nothing to remember about it
    for address in ("198.51.100.2", "198.51.100.3", "198.51.100.4"):
        limiter.take(address)
    assert len(limiter) == 3
    limiter.take("198.51.100.5")
    assert len(limiter) == 3  # the least recently used went
    limiter.take("198.51.100.5")
    with pytest.raises(RateLimited):
        limiter.take("198.51.100.5")


def test_the_catalogues_limit_is_read_from_its_variable_and_a_bad_value_stops_the_start():
    assert per_hour(settings(), "catalogue", "submissions", 20) == 20
    assert per_hour(settings(SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR="3"), "catalogue", "submissions", 20) == 3
    check = definition().check_settings
    for bad in ({"SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR": "-1"},
                {"SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR": "many"},
                {"SCHULDENLAB_RATE_LIMIT_EXEMPT": "localhost"},
                {"SCHULDENLAB_CATALOGUE_CONTACT_EMAIL": "not an address"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            check(settings(**bad))
    check(settings(SCHULDENLAB_RATE_LIMIT_EXEMPT="10.0.0.0/8, ::1", SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR="0"))
    assert SUBMISSIONS_LIMIT.name == "submissions" and SUBMISSIONS_LIMIT.default_per_hour == 20
