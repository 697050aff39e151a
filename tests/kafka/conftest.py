"""The Apache Kafka tier: every test here runs on the session's three-broker cluster (SASL, ACLs)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.apache_kafka import KafkaCluster, fresh_topics


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kafka)


@pytest.fixture
def cluster(apache_kafka: KafkaCluster) -> KafkaCluster:
    """The cluster with the platform's topics created anew (no test sees another's events), all brokers up."""
    for node in apache_kafka.nodes:
        if node.node_id not in apache_kafka.alive():
            apache_kafka.start_node(node.node_id)
    apache_kafka.wait_until_healthy()
    asyncio.run(fresh_topics(apache_kafka))
    return apache_kafka
