"""`schuldenlab up` pointed at Apache Kafka over SASL_SSL, a user per service: the whole lifecycle, signed webhooks."""

from __future__ import annotations

import httpx
from standardwebhooks.webhooks import Webhook

from schuldenlab.demo_data import KNOWN_PROJECTS
from schuldenlab_contracts.registry import EVENT_TYPES
from tests.e2e.test_demo_on_platform import Receiver
from tests.support.apache_kafka import KafkaCluster
from tests.support.platform import Platform, wait_for


def test_the_demo_lifecycle_runs_on_apache_kafka_over_sasl_ssl_with_each_service_its_own_principal(
        cluster: KafkaCluster, tmp_path):
    receiver = Receiver()
    # The README's worked example: SASL_SSL with the cluster's CA; the operator's login (admin) for `up`'s topic
    # check and the operator commands; each service its own user with exactly its ACLs.
    platform = Platform(tmp_path, SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS="127.0.0.1", **cluster.platform_env(tls=True))
    try:
        assert platform.kafka == cluster.tls_bootstrap_servers
        printed = "".join(platform.output)
        assert not any(password in printed for password in cluster.users.values())
        integrator = platform.cli("token", "--role", "integrator", "--subject", "gemeente-vlaardingen").stdout.strip()
        subscribed = httpx.post(f"{platform.url('notifications')}/v1/subscriptions",
                                headers={"Authorization": f"Bearer {integrator}"},
                                json={"url": receiver.url, "event_types": sorted(EVENT_TYPES),
                                      "description": "integrator on Apache Kafka"})
        assert subscribed.status_code == 201, subscribed.text
        secret = subscribed.json()["secret"]

        demo = platform.cli("demo", timeout=300)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "demo complete" in demo.stdout

        catalogue = httpx.get(f"{platform.url('catalogue')}/v1/catalogue", params={"limit": 50}).json()["items"]
        assert {p["name"] for p in catalogue} >= {p["name"] for p in KNOWN_PROJECTS}
        assert any(p["handovers"] >= 1 for p in catalogue)
        wait_for(lambda: receiver.types() >= EVENT_TYPES, timeout=60)

        # The operator's commands reach the same cluster with the operator's login.
        letters = platform.cli("dlq", "list", "assessment")
        assert letters.returncode == 0 and "0 dead letter(s)" in letters.stderr, letters.stdout + letters.stderr
    finally:
        code, alive = platform.stop()
        receiver.server.shutdown()
    assert code == 0 and alive == []
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log"))
    assert not any(password in logs for password in cluster.users.values())

    verifier = Webhook(secret)
    for headers, body in receiver.received:
        verifier.verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
