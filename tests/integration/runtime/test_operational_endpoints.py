"""What every service serves besides its API: health, metrics, OpenAPI and AsyncAPI."""

from __future__ import annotations

import pytest

from schuldenlab.embedded.kafka import EmbeddedKafka
from schuldenlab.embedded.topics import ensure_topics
from schuldenlab.infrastructure import platform_topics
from schuldenlab.services import SERVICES
from tests.support.harness import running_service, service_settings

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("service", SERVICES)
async def test_every_service_serves_health_metrics_and_api_documents(service, fresh_database, fresh_kafka, tmp_path):
    async with running_service(service, service_settings(fresh_database, fresh_kafka, tmp_path)) as svc:
        assert (await svc.client.get("/health/live")).json() == {"status": "ok"}
        ready = await svc.client.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}

        metrics = (await svc.client.get("/metrics")).text
        assert "schuldenlab_outbox_backlog" in metrics
        assert "faststream_" in metrics  # FastStream's Kafka metrics share the one registry

        assert (await svc.client.get("/openapi.json")).json()["info"]["title"] == f"SchuldenlabNL {service}"
        assert (await svc.client.get("/docs")).status_code == 200
        asyncapi = (await svc.client.get("/asyncapi.json")).json()
        assert asyncapi["asyncapi"].startswith("3.")
        assert any(f"{service}.dlq.v1" in ch.get("address", "") for ch in asyncapi["channels"].values())
        page = (await svc.client.get("/asyncapi")).text
        # Rendered by the service itself: no script, nothing from a CDN, no "try it out" publishing.
        assert "<script" not in page and "TryItOut" not in page
        for channel in asyncapi["channels"].values():
            assert f"<code>{channel['address']}</code>" in page
            for message in channel["messages"].values():
                name = message["$ref"].rsplit("/", 1)[-1]
                assert "ce_specversion" in asyncapi["components"]["messages"][name]["headers"]["properties"] \
                    or channel["address"] in (f"{service}.dlq.v1", f"{service}.retry.v1")


async def test_readiness_reports_a_broker_that_is_gone(fresh_database, tmp_path):
    broker = EmbeddedKafka()
    bootstrap = broker.start()
    await ensure_topics({"bootstrap_servers": bootstrap}, platform_topics())
    try:
        async with running_service("catalogue", service_settings(fresh_database, bootstrap, tmp_path)) as svc:
            assert (await svc.client.get("/health/ready")).status_code == 200
            broker.stop()
            response = await svc.client.get("/health/ready")
            assert response.status_code == 503
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["checks"]["database"] == "ok"
            assert response.json()["checks"]["broker"].startswith("failing")
    finally:
        broker.stop()
