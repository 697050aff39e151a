"""The subscriptions API: who may do what, what is refused (SSRF, unknown types), what is never shown."""

from __future__ import annotations

import uuid

import pytest

from tests.integration.notifications.notifications_support import (
    SUBMITTED,
    project_submitted,
    publish,
    subscribe,
    webhook_settings,
)
from tests.support.harness import auth, eventually, running_service
from tests.support.webhooks import Answer, webhook_receiver

pytestmark = pytest.mark.integration

REFUSED_TARGETS = [
    "http://127.0.0.1:9/hook",  # loopback
    "http://localhost/hook",  # a name that resolves to loopback
    "http://10.1.2.3/hook",  # private
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",  # link-local: the cloud metadata service
    "http://0.0.0.0/hook",  # unspecified
    "http://224.0.0.1/hook",  # multicast
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fd00::1]/hook",  # unique local
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
    "http://[::ffff:10.0.0.1]/hook",
    "ftp://example.org/hook",
    "http://user:pw@example.org/hook",
]


async def test_targets_in_private_loopback_or_link_local_ranges_are_refused(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="")
    async with running_service("notifications", settings) as service:
        for url in REFUSED_TARGETS:
            r = await service.client.post("/v1/subscriptions", json={"url": url, "event_types": [SUBMITTED]},
                                          headers=auth("integrator"))
            assert r.status_code == 422, (url, r.text)
            assert r.json()["errors"][0]["field"] == "url", url
        listed = await service.client.get("/v1/subscriptions", headers=auth("integrator"))
        assert listed.json()["items"] == []


async def test_a_url_with_whitespace_or_control_characters_is_refused_and_nothing_is_stored(fresh_database,
                                                                                           fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        # 127.0.0.1 is allowed here: what is refused is the text of the URL, not where it points.
        for url in ("http://127.0.0.1:9/hook\r\nX-Injected: 1", "http://127.0.0.1:9/a b", "http://127.0.0.1:9/\t",
                    "http://127.0.0.1:9/\u0000", "http://127.0.0.1:9/\u007f", "http://127.0.0.1:9/\u0085",
                    "http://127.0.0.1:9/\n", " http://127.0.0.1:9/"):
            r = await service.client.post("/v1/subscriptions", json={"url": url, "event_types": [SUBMITTED]},
                                          headers=auth("integrator"))
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (url, r.text)
            [error] = r.json()["errors"]
            assert error["field"] == "url" and error["reason"], url
        listed = await service.client.get("/v1/subscriptions", headers=auth("operator"))
        assert listed.json()["items"] == []


async def test_an_allowed_host_may_be_a_loopback_target(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="localhost")
    async with running_service("notifications", settings) as service:
        await subscribe(service.client, "http://localhost:9/hook")
        r = await service.client.post("/v1/subscriptions", headers=auth("integrator"),
                                      json={"url": "http://127.0.0.1:9/", "event_types": [SUBMITTED]})
        assert r.status_code == 422


async def test_unknown_event_types_are_refused_naming_the_valid_ones(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        r = await service.client.post("/v1/subscriptions", headers=auth("integrator"),
                                      json={"url": "http://127.0.0.1:9/", "event_types": [SUBMITTED, "nl.x.v1"]})
        assert r.status_code == 422
        [error] = r.json()["errors"]
        assert error["field"] == "event_types" and "nl.x.v1" in error["reason"]
        assert "nl.schuldenlab.lab.formed.v1" in error["reason"]
        r = await service.client.post("/v1/subscriptions", headers=auth("integrator"),
                                      json={"url": "http://127.0.0.1:9/", "event_types": []})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "event_types"


async def test_the_secret_is_shown_only_when_created_or_rotated(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        created = await subscribe(service.client, "http://127.0.0.1:9/", description="case system")
        assert created["secret"].startswith("whsec_")
        one = await service.client.get(f"/v1/subscriptions/{created['id']}", headers=auth("integrator", "crm"))
        listed = await service.client.get("/v1/subscriptions", headers=auth("operator"))
        for text in (one.text, listed.text):
            assert created["secret"] not in text and "secret\"" not in text.replace("previous_secret", "")
        assert one.json()["description"] == "case system" and one.json()["status"] == "active"


async def test_roles_and_ownership_of_subscriptions(fresh_database, fresh_kafka, tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with running_service("notifications", settings) as service:
        body = {"url": "http://127.0.0.1:9/", "event_types": [SUBMITTED]}
        assert (await service.client.post("/v1/subscriptions", json=body)).status_code == 401
        assert (await service.client.post("/v1/subscriptions", json=body, headers=auth("lab"))).status_code == 403
        assert (await service.client.get("/v1/subscriptions", headers=auth("board"))).status_code == 403

        mine = await subscribe(service.client, "http://127.0.0.1:9/a", subject="crm-a")
        theirs = await subscribe(service.client, "http://127.0.0.1:9/b", subject="crm-b")
        a = auth("integrator", "crm-a")
        listed = (await service.client.get("/v1/subscriptions", headers=a)).json()["items"]
        assert [s["id"] for s in listed] == [mine["id"]]
        other = theirs["id"]
        for method, path in (("GET", f"/v1/subscriptions/{other}"), ("DELETE", f"/v1/subscriptions/{other}"),
                             ("POST", f"/v1/subscriptions/{other}/secret"),
                             ("GET", f"/v1/subscriptions/{other}/deliveries")):
            r = await service.client.request(method, path, headers=a)
            assert r.status_code == 404, (method, path, r.text)
        assert (await service.client.post(f"/v1/deliveries/{uuid.uuid4()}/redeliver", headers=a)).status_code == 404

        everything = (await service.client.get("/v1/subscriptions", headers=auth("operator"))).json()["items"]
        assert {s["id"] for s in everything} == {mine["id"], theirs["id"]}
        r = await service.client.delete(f"/v1/subscriptions/{mine['id']}", headers=a)
        assert r.status_code == 204
        assert (await service.client.get(f"/v1/subscriptions/{mine['id']}", headers=a)).status_code == 404


async def test_metrics_count_attempts_and_report_backlog_and_disabled_subscriptions(fresh_database, fresh_kafka,
                                                                                    tmp_path):
    settings = webhook_settings(fresh_database, fresh_kafka, tmp_path)
    async with webhook_receiver(lambda n: Answer(410)) as receiver, \
            running_service("notifications", settings) as service:
        before = _metric(await _metrics(service), 'schuldenlab_webhook_attempts_total{outcome="gone"}')
        await subscribe(service.client, receiver.url)
        await publish(fresh_kafka, project_submitted())

        async def counted():
            text = await _metrics(service)
            gone = _metric(text, 'schuldenlab_webhook_attempts_total{outcome="gone"}')
            return text if gone == before + 1 and _metric(text, "schuldenlab_webhook_disabled_subscriptions") == 1 \
                else None

        text = await eventually(counted)
        assert _metric(text, "schuldenlab_webhook_pending") == 0
        for name in ("schuldenlab_webhook_attempt_seconds_count", "schuldenlab_webhook_pending_oldest_age_seconds",
                     'schuldenlab_webhook_deliveries_total{outcome="failed"}'):
            assert _metric(text, name) is not None, name


async def _metrics(service) -> str:
    return (await service.client.get("/metrics")).text


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0 if "{" in name else None
