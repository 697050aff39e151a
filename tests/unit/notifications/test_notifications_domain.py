"""The pure rules of notifications: filters, retry decisions, refused targets, signatures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from notifications.config import WebhookSettings
from notifications.domain import signing
from notifications.domain.errors import InvalidInput
from notifications.domain.model import EventFilter, ReceivedEvent
from notifications.domain.retry import (
    Result,
    RetryPolicy,
    Verdict,
    classify,
    decide,
    parse_retry_after,
)
from notifications.domain.targets import (
    AllowedHost,
    forbidden_reason,
    is_exempt,
    parse_allowed_hosts,
    parse_target,
    refusal,
)
from servicekit.config import ConfigError, Settings

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
LAB = "5a1c9e77-8b0d-4f2a-b6c3-1d2e3f4a5b02"
PROJECT = "0b7f6f0e-3d2a-4c1e-9a51-6f3e2d1c0b01"


def event(ce_type: str = "nl.schuldenlab.project.submitted.v1", data: dict | None = None, subject: str = PROJECT):
    return ReceivedEvent(event_id="e1", ce_type=ce_type, subject=subject, source="/schuldenlab/x", time=NOW,
                         data=data)


SUBMITTED = {"project_id": PROJECT, "origin": {"organisation": "Gemeente Almere", "municipality": "Almere",
                                               "lab_id": LAB}}
LAB_FORMED = {"lab_id": LAB, "municipalities": ["Maassluis", "Vlaardingen"]}


def test_an_empty_filter_matches_every_event():
    assert EventFilter().matches(event(data=SUBMITTED)) and EventFilter().matches(event(data=None))


def test_municipality_filter_matches_origin_or_municipalities_ignoring_case():
    assert EventFilter(municipality="almere").matches(event(data=SUBMITTED))
    assert EventFilter(municipality="VLAARDINGEN").matches(event("nl.schuldenlab.lab.formed.v1", LAB_FORMED))
    assert not EventFilter(municipality="Emmen").matches(event(data=SUBMITTED))


def test_an_event_without_the_filtered_attribute_does_not_match():
    assessed = {"project_id": PROJECT, "verdict": "proven"}
    assert not EventFilter(municipality="Almere").matches(event("nl.schuldenlab.project.assessed.v1", assessed))
    assert not EventFilter(lab_id=LAB).matches(event("nl.schuldenlab.project.assessed.v1", assessed))


def test_lab_and_project_filters():
    assert EventFilter(lab_id=LAB).matches(event(data=SUBMITTED))
    assert EventFilter(lab_id=LAB).matches(event("nl.schuldenlab.lab.formed.v1", LAB_FORMED))
    assert EventFilter(project_id=PROJECT, lab_id=LAB).matches(event(data=SUBMITTED))
    assert not EventFilter(project_id="other").matches(event(data=SUBMITTED))


def test_a_catalogue_tombstone_matches_its_project_by_subject():
    tomb = event("nl.schuldenlab.catalogue.project.v1", None)
    assert EventFilter(project_id=PROJECT).matches(tomb)
    assert not EventFilter(project_id="other").matches(tomb)


POLICY = RetryPolicy(schedule=(0, 5, 300), jitter=0.2, retry_after_max=60, disable_after=timedelta(days=5))


def test_only_2xx_is_success_and_410_means_gone():
    assert classify(200) is Result.SUCCEEDED and classify(204) is Result.SUCCEEDED
    assert classify(301) is Result.FAILED and classify(500) is Result.FAILED and classify(None) is Result.FAILED
    assert classify(410) is Result.GONE


def test_failures_follow_the_schedule_with_jitter():
    low = decide(POLICY, Result.FAILED, attempt_in_round=1, retry_after=None, failing_since=NOW, now=NOW,
                 random_unit=0.0)
    high = decide(POLICY, Result.FAILED, attempt_in_round=2, retry_after=None, failing_since=NOW, now=NOW,
                  random_unit=0.999)
    assert low.verdict is Verdict.RETRY and low.retry_in == pytest.approx(4.0)
    assert high.retry_in == pytest.approx(360, rel=0.01)


def test_a_delivery_fails_when_the_schedule_is_spent():
    d = decide(POLICY, Result.FAILED, attempt_in_round=3, retry_after=None, failing_since=NOW, now=NOW,
               random_unit=0.5)
    assert d.verdict is Verdict.FAILED and d.disable_reason is None


def test_retry_after_lengthens_the_wait_up_to_its_cap():
    d = decide(POLICY, Result.FAILED, attempt_in_round=1, retry_after=30, failing_since=None, now=NOW, random_unit=0.5)
    assert d.retry_in == 30
    capped = decide(POLICY, Result.FAILED, attempt_in_round=1, retry_after=86400, failing_since=None, now=NOW,
                    random_unit=0.5)
    assert capped.retry_in == 60


def test_gone_disables_and_persistent_failure_disables():
    gone = decide(POLICY, Result.GONE, attempt_in_round=1, retry_after=None, failing_since=None, now=NOW,
                  random_unit=0.5)
    assert gone.verdict is Verdict.FAILED and "410" in gone.disable_reason
    stale = decide(POLICY, Result.FAILED, attempt_in_round=1, retry_after=None,
                   failing_since=NOW - timedelta(days=6), now=NOW, random_unit=0.5)
    assert stale.verdict is Verdict.FAILED and "failing since" in stale.disable_reason


def test_retry_after_is_read_as_seconds_or_http_date():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Mon, 05 Jan 2026 12:01:00 GMT", NOW) == 60
    assert parse_retry_after("soon", NOW) is None and parse_retry_after(None, NOW) is None


def test_schedule_parsing():
    assert RetryPolicy.parse_schedule("0, 5,300") == (0, 5, 300)
    for bad in ("", "a,b", "5,-1"):
        with pytest.raises(ValueError):
            RetryPolicy.parse_schedule(bad)


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
                                     "0.0.0.0", "224.0.0.1", "100.64.0.1", "240.0.0.1", "::1", "::", "fe80::1",
                                     "fd12::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:192.168.0.1",
                                     "2002:7f00:1::1", "fe80::1%eth0"])
def test_non_public_addresses_are_forbidden(address):
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert forbidden_reason(address) is None


def test_a_host_is_refused_if_any_of_its_addresses_is_forbidden_or_it_does_not_resolve():
    assert refusal("evil.example", ["93.184.216.34", "10.0.0.1"]) is not None
    assert "does not resolve" in refusal("nowhere.example", [])
    assert refusal("good.example", ["93.184.216.34"]) is None


@pytest.mark.parametrize("url", ["ftp://x.org/", "http:///nohost", "https://u:p@x.org/", "http://x.org/#frag",
                                 "http://x.org:99999/", "http://x.org/" + "a" * 3000])
def test_malformed_targets_are_refused_naming_url(url):
    with pytest.raises(InvalidInput) as refused:
        parse_target(url)
    assert refused.value.field == "url"


def test_parse_target_fills_the_default_port():
    assert parse_target("https://Hooks.Example.org/x").host_key == "hooks.example.org:443"
    assert parse_target("http://[::1]:8080/").host_key == "::1:8080"


@pytest.mark.parametrize(("url", "found"), [
    ("https://x.org/in\r\nX-Injected: 1", "U+000D at position 16"), ("https://x.org/a b", "U+0020"),
    ("https://x.org/\tin", "U+0009"), ("https://x.org/\x00", "U+0000"), ("https://x.org/\x7f", "U+007F"),
    ("https://x.org/\x9b", "U+009B"), ("https://x.org/\u00a0", "U+00A0"), ("https://x.org/\u2028", "U+2028"),
    ("\nhttps://x.org/", "U+000A at position 0"), ("https://x\r.org/", "U+000D"),
])
def test_a_url_with_whitespace_or_a_control_character_anywhere_is_refused_saying_which(url, found):
    with pytest.raises(InvalidInput) as refused:
        parse_target(url)
    assert refused.value.field == "url" and found in refused.value.reason
    assert "whitespace or control characters" in refused.value.reason


def test_port_zero_is_refused_rather_than_taken_for_the_default_port():
    with pytest.raises(InvalidInput) as refused:
        parse_target("http://x.org:0/")
    assert refused.value.field == "url"


def test_allowed_hosts_name_a_host_on_every_port_or_one_port_of_it():
    allowed = parse_allowed_hosts(" LocalHost , 127.0.0.1:8080, [::1]:9000, [fd00::7], 0:0::2 ,hooks.internal:443,")
    assert allowed == {AllowedHost("localhost"), AllowedHost("127.0.0.1", 8080), AllowedHost("::1", 9000),
                       AllowedHost("fd00::7"), AllowedHost("::2"), AllowedHost("hooks.internal", 443)}
    assert is_exempt(parse_target("http://localhost:5432/"), allowed)  # a bare host: all its ports
    assert is_exempt(parse_target("http://127.0.0.1:8080/in"), allowed)
    assert not is_exempt(parse_target("http://127.0.0.1:5432/"), allowed)
    assert not is_exempt(parse_target("http://127.0.0.1/"), allowed)
    assert is_exempt(parse_target("http://[0:0::1]:9000/"), allowed) and not is_exempt(
        parse_target("http://[::1]:9001/"), allowed)
    assert is_exempt(parse_target("https://hooks.internal/in"), allowed)  # 443 by default
    assert not is_exempt(parse_target("http://hooks.internal/in"), allowed)
    assert parse_allowed_hosts("") == frozenset()


@pytest.mark.parametrize("entry", ["host:", ":80", "host:0", "host:65536", "host:http", "::1:8080x", "[::1",
                                   "[example.org]:80", "[::1]x", "http://host", "user@host", "host/path",
                                   "a host", "fe80::1:zz", "h:\u00b2"])
def test_a_malformed_allowed_host_entry_is_refused_naming_it(entry):
    with pytest.raises(ValueError, match="entry"):
        parse_allowed_hosts(f"localhost,{entry}")


def test_a_malformed_allowed_hosts_setting_names_the_variable():
    settings = Settings.from_env({"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:http"})
    with pytest.raises(ConfigError, match=r"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS: entry '127\.0\.0\.1:http'"):
        WebhookSettings.from_settings(settings)
    ok = Settings.from_env({"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1,localhost:8080"})
    assert WebhookSettings.from_settings(ok).allowed_hosts == {AllowedHost("127.0.0.1"),
                                                               AllowedHost("localhost", 8080)}


def test_signatures_verify_with_the_standardwebhooks_library():
    secret = signing.new_secret()
    body = b'{"specversion":"1.0","id":"abc"}'
    timestamp = int(datetime.now(UTC).timestamp())
    headers = signing.webhook_headers([secret], "msg_1", timestamp, body)
    assert Webhook(secret).verify(body, headers) == {"specversion": "1.0", "id": "abc"}


def test_during_rotation_either_secret_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"a":1}'
    headers = signing.webhook_headers([new, old], "msg_2", int(datetime.now(UTC).timestamp()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(body, headers) and Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
