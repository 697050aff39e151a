"""Fixtures of the runtime tests: the probe service gets its own topics, as every service of the platform does."""

from __future__ import annotations

import asyncio

import pytest

from schuldenlab.infrastructure import service_topics
from tests.support.kafka import create_topics


@pytest.fixture
def fresh_kafka(fresh_kafka: str) -> str:
    """The platform's topics, plus the probe's dead-letter and retry topics.

    The consumer subscribes to its service's retry topic; Kafka (unlike the embedded broker) lets no
    consumer start while a topic it subscribes to does not exist, and the platform's topics are made for
    the platform's services only.
    """
    asyncio.run(create_topics(fresh_kafka, service_topics("probe")))
    return fresh_kafka
